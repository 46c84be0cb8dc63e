"""What every gateway domain shares: the client base, error styles, REST and GraphQL plumbing, metrics."""
