"""MNIST: data (download, split, shifted sets), the models (evaluator, judge, autoencoders,
cond_resvae), their training, latent codes and likelihood (ELBO, IWAE)."""
