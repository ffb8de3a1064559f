"""What every part shares: params loading and schema machinery, atomic io, runtime (seeds,
threads), checkpoints and the model registry, the one training loop, batching, VAE losses, the
stage CLI wrapper and shared figures."""
