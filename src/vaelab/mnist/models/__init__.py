"""The MNIST models; :mod:`vaelab.core.registry` names them by kind."""
