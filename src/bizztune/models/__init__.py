"""Model weights shared by providers and trainers: embedded GGUF models, tokenizers, loading."""
