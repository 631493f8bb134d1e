"""A fine-tuned copy of the encoder's top layers: one task's own view of the text at little extra cost.

The shared MiniLM encoder runs once per batch. A branch starts from the token states after its
`start_layer` and runs its own copies of the layers above, fine-tuned for its task; the layers below
stay shared and frozen. Only the branch's layers ship, as safetensors (no pickles).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from torch import nn

from service.scoring.encoder import MiniLMEncoder, mean_pool


class EncoderBranch(nn.Module):
    def __init__(self, encoder: MiniLMEncoder, start_layer: int) -> None:
        super().__init__()
        self.start_layer = start_layer
        self._config = encoder.config
        self.layers = copy.deepcopy(encoder.model.encoder.layer[start_layer:])

    per_text = False  # `embed` gives a matrix of sentence embeddings

    def token_states(self, states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Each token's final state from its states after `start_layer` layers."""
        from transformers.masking_utils import create_bidirectional_mask

        extended = create_bidirectional_mask(config=self._config, inputs_embeds=states, attention_mask=attention_mask)
        for layer in self.layers:
            states = layer(states, extended)
        return states

    def embed(self, states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Normalised sentence embeddings from token states after `start_layer` layers."""
        pooled: torch.Tensor = mean_pool(self.token_states(states, attention_mask), attention_mask)
        return pooled

    def save(self, path: Path) -> None:
        """Half precision: the layers' values to four significant digits, at half the size."""
        from safetensors.torch import save_file

        tensors = {name: value.detach().to(torch.float16).contiguous() for name, value in self.state_dict().items()}
        save_file(tensors, str(path), metadata={"start_layer": str(self.start_layer)})

    @classmethod
    def load(cls, encoder: MiniLMEncoder, path: Path) -> EncoderBranch:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata: dict[str, Any] = handle.metadata()
            tensors = {name: handle.get_tensor(name).to(torch.float32) for name in handle.keys()}  # noqa: SIM118
        branch = cls(encoder, int(metadata["start_layer"]))
        branch.load_state_dict(tensors)
        return branch.eval()


# Pooled embeddings have unit length; scaling them lets a small linear head reach confident logits.
LOGIT_SCALE = 10.0
