"""Fine-tuning a branch of the shared encoder on one task's labels: the states it trains on, and the loop.

The branch itself (`service.scoring.branch.EncoderBranch`) is what the service runs; this is how one is made.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from service.scoring.branch import LOGIT_SCALE, EncoderBranch
from service.scoring.emoji_words import spell_emoji
from service.scoring.encoder import MiniLMEncoder


def layer_states(encoder: MiniLMEncoder, texts: list[str], layer: int, batch_size: int = 64) -> list[Any]:
    """Each text's unpadded token states after `layer` encoder layers: what a branch is trained on. The texts
    are read with their emoji spelled out, as a `Batch` gives them to the encoder."""
    import torch
    from tqdm import tqdm

    texts = [spell_emoji(text)[0] for text in texts]
    states: list[Any] = []
    with torch.inference_mode():
        for start in tqdm(range(0, len(texts), batch_size), desc=f"layer {layer} states", unit="batch"):
            tokens = encoder.tokenize(texts[start : start + batch_size])
            hidden = encoder.model(**tokens, output_hidden_states=True).hidden_states[layer]
            lengths = tokens["attention_mask"].sum(dim=1).tolist()
            states += [hidden[row, :length].clone() for row, length in enumerate(lengths)]
    return states


def pad_states(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Unpadded per-text token states as one zero-padded batch and its attention mask."""
    longest = max(state.shape[0] for state in states)
    batch = torch.zeros(len(states), longest, states[0].shape[1])
    mask = torch.zeros(len(states), longest, dtype=torch.long)
    for row, state in enumerate(states):
        batch[row, : state.shape[0]] = state
        mask[row, : state.shape[0]] = 1
    return batch, mask

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
