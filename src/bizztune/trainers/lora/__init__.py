"""The LoRA trainer: one recipe for lora, qlora and qlora-fsdp (recipe.py), run by
transformers' Trainer (collate.py builds the sequences), in one process or under FSDP (fsdp.py)."""
