"""The StyleGAN2-ADA networks, checkpoint format and NVlabs import, dataset, augmentation, losses and training loop."""
