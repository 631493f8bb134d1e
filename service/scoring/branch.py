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

from service.scoring.models import MiniLMEncoder, mean_pool


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


def pad_states(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Unpadded per-text token states as one zero-padded batch and its attention mask."""
    longest = max(state.shape[0] for state in states)
    batch = torch.zeros(len(states), longest, states[0].shape[1])
    mask = torch.zeros(len(states), longest, dtype=torch.long)
    for row, state in enumerate(states):
        batch[row, : state.shape[0]] = state
        mask[row, : state.shape[0]] = 1
    return batch, mask


# Pooled embeddings have unit length; scaling them lets a small linear head reach confident logits.
LOGIT_SCALE = 10.0


def fine_tune_branch(
    encoder: MiniLMEncoder,
    states: list[torch.Tensor],
    labels: Any,
    start_layer: int,
    epochs: int,
    learning_rate: float,
    seed: int,
    batch_size: int = 16,
) -> tuple[EncoderBranch, Any, float]:
    """Train a branch and a linear head on binary labels; the head's weights apply to the branch's embeddings.

    Seeded: the same states and labels give the same weights on the same machine. Class weights balance
    the labels, as the logistic heads' do.
    """
    import numpy as np
    from tqdm import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    branch = EncoderBranch(encoder, start_layer).train()
    head = nn.Linear(states[0].shape[1], 1)
    optimiser = torch.optim.AdamW(
        [{"params": branch.parameters(), "lr": learning_rate}, {"params": head.parameters(), "lr": 1e-3}],
        weight_decay=0.01,
    )
    batches_per_epoch = (len(states) + batch_size - 1) // batch_size
    total = epochs * batches_per_epoch
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / total)
    )
    positives = max(1, int(labels.sum()))
    pos_weight = torch.tensor((len(labels) - positives) / positives, dtype=torch.float32)
    targets = torch.tensor(labels, dtype=torch.float32)
    progress = tqdm(total=total, desc=f"fine-tuning layers {start_layer + 1}+", unit="batch")
    for _ in range(epochs):
        # Texts of similar length share a batch (less padding); the batches come in random order.
        shuffled = rng.permutation(len(states))
        windows = [sorted(shuffled[i : i + 256], key=lambda j: states[j].shape[0]) for i in range(0, len(states), 256)]
        batches = [w[i : i + batch_size] for w in windows for i in range(0, len(w), batch_size)]
        for index in rng.permutation(len(batches)):
            rows = batches[index]
            logits = head(branch.embed(*pad_states([states[j] for j in rows])) * LOGIT_SCALE).squeeze(-1)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, targets[rows], pos_weight=pos_weight)
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            nn.utils.clip_grad_norm_([*branch.parameters(), *head.parameters()], 1.0)
            optimiser.step()
            schedule.step()
            progress.update()
    progress.close()
    weights = head.weight.detach().numpy()[0].astype(np.float64) * LOGIT_SCALE
    return branch.eval(), weights, float(head.bias.detach()[0])
