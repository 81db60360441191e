"""Semantic codec: a trained convolutional encoder/decoder whose quantized features travel in
packets that each decode on their own (a lost packet is an erasure the decoder was trained for)."""
