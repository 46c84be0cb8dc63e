"""Platform pieces every service stands on: configuration, storage, events, gRPC plumbing, embedded servers."""
