"""gantool: train MNIST-style GAN generators, export them verified, sample them anywhere."""

__version__ = "0.1.0"
