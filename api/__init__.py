"""HTTP only: the app factory, authentication, REST routers and the error table."""
