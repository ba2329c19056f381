"""Deployment, Qt-free: export a run as Concrete's server and client artifacts, serve it over HTTP,
and the client that keeps the secret key."""
