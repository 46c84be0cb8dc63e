"""Identity: faces, persons across cameras, consent and erasure (issue 7)."""
