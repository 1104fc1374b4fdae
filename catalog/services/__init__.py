"""Service functions: the only way in. Each takes the session and the acting principal; none commits."""
