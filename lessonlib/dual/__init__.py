"""Dual encoders (Day 10.1): towers and the two-tower model, negative samplers, training, distillation,
late interaction, geometry of the embedding space."""
