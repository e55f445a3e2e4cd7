"""Building images from a Dockerfile: parser, variable expansion, .dockerignore, the builder."""
