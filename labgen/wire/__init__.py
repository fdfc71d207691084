"""Wire helpers shared by labgen and the programs that run inside its images.

Standard library only: the image builds copy this package into the containers as
`/opt/labgen/labgen/wire/`, so `from labgen.wire import http` means the same code on the host
and in a container. Nothing here may import from the rest of labgen.
"""
