#!/usr/bin/env python3
"""The Infini-Streams model in plain PyTorch: an independent reference of the Java forward.

It reads a checkpoint directory (manifest.json + model.safetensors, the layout
io.infinistreams.model.Checkpoint writes) and computes what io.infinistreams.model.InfiniModel
computes for every configuration a manifest can hold: the LINEAR, DELTA and GATED update rules,
the PAPER and NORMALIZED reads (any read eps), any overlap C and short convolution S, the
ELU_PLUS_ONE and IDENTITY feature maps, the LOGISTIC and SPARSE write gates and the top-k write.
Eager mode, fp32, one stream, PyTorch and the Python standard library only (the safetensors file
is read by hand).

Shape legend (as in the Java code): T tokens in one forward, N segment length, C overlap,
L layers, H heads, D d_model, K d_key, V d_value, F feed-forward width, W vocabulary.

Commands (python3 infini_reference.py COMMAND --help):
  check DIR    compare with a case written by `bin/infini bench --dump DIR`; exit 1 if beyond
               the tolerance
  time         absorb throughput per CPU second, one thread; prints one machine-readable line
  absorb       absorb a text and print every (layer, head) memory's norms (and the text's
               bits per byte with --score)

As a library: m = Model.load(dir); s = m.new_state(); s, logp = m.absorb(s, tokens, score=True);
s.memories[layer] is (M (H, K, V), z (H, K)).
"""

import argparse
import fractions
import hashlib
import json
import math
import os
import re
import struct
import sys
import time
from dataclasses import dataclass, replace

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the one dependency: say how to get it, exit with a distinct code
    print(
        f"infini_reference.py needs PyTorch (import torch failed: {e}). Install the CPU wheel:"
        " pip install torch (offline: pip install --no-index --no-deps /path/to/torch-*.whl)",
        file=sys.stderr,
    )
    sys.exit(3)

# Constants of the Java model (InfiniTransformer, ModelConfig, ByteTokenizer, Checkpoint).
MEMORY_EPS = 1e-6  # the PAPER read's and delta rule's denominators, unit keys
NORM_EPS = 1e-5  # RMSNorm, inside the square root
BLOCK = 32  # tokens per block of the gated write's closed form
BOS, PAD = 256, 258  # a new stream's open segment is [BOS], its context C x PAD
MIN_VOCAB = 262  # 256 bytes and the special tokens BOS .. SYSTEM
FORMAT = "infini-streams-checkpoint/1"
CASE_FORMAT = "infini-streams-reference-case/1"
CONFIG_KEYS = ["vocabSize", "dModel", "layers", "heads", "dKey", "dValue", "ffnHidden",
               "segmentLength", "updateRule", "memoryRead", "ropeBase", "overlap"]
MAX_SHORT_CONV = 8
DEFAULT_READ_EPS = struct.unpack("<f", struct.pack("<f", 1e-6))[0]  # the NORMALIZED read's, 1e-6f
MAX_READ_EPS = 1.0
# Keys a manifest leaves out at their defaults (and older manifests do not know)
OPTIONAL_KEYS = {"shortConv": 0, "featureMap": "ELU_PLUS_ONE", "writeTopK": 0,
                 "writeGate": "LOGISTIC", "readEps": DEFAULT_READ_EPS}


# ---- configuration and checkpoint -------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    vocab_size: int  # W: 256 bytes + special tokens
    d_model: int  # D
    layers: int  # L
    heads: int  # H, each with its own memory
    d_key: int  # K: memory M is K x V
    d_value: int  # V
    ffn_hidden: int  # F
    segment_length: int  # N: memory is written once per full segment
    update_rule: str  # LINEAR | DELTA | GATED
    memory_read: str  # PAPER | NORMALIZED
    rope_base: float  # fp32
    overlap: int  # C: context tokens before each segment, seen but not written again
    short_conv: int = 0  # S: causal depthwise convolution taps over Q, K, V (0: none)
    feature_map: str = "ELU_PLUS_ONE"  # sigma of the memory's queries and keys, or IDENTITY
    write_top_k: int = 0  # GATED: each head writes the k tokens of largest write logit (0: all)
    write_gate: str = "LOGISTIC"  # GATED: write strength logistic(x), or SPARSE max(0, tanh(x/2))
    read_eps: float = DEFAULT_READ_EPS  # the NORMALIZED read's eps, fp32
    # how the configuration line writes rope_base and read_eps (None: java_float of the value)
    rope_base_text: str = None
    read_eps_text: str = None

    @staticmethod
    def from_manifest(o):
        """The manifest's config object (parsed with parse_float=JsonNumber), checked like
        ModelConfig's constructor."""
        keys = set(o) - set(OPTIONAL_KEYS)
        if keys != set(CONFIG_KEYS):
            missing, unknown = sorted(set(CONFIG_KEYS) - keys), sorted(keys - set(CONFIG_KEYS))
            raise ValueError(f"checkpoint config does not fit: missing {missing},"
                             f" unknown {unknown}")
        def get(key):
            return o[key] if key in o else OPTIONAL_KEYS[key]

        def integer(key):
            v = get(key)
            require(isinstance(v, int) and not isinstance(v, bool), f"{key} must be an integer")
            return v

        c = Config(*map(integer, CONFIG_KEYS[:8]), o["updateRule"], o["memoryRead"],
                   manifest_f32(o["ropeBase"]), integer("overlap"), integer("shortConv"),
                   get("featureMap"), integer("writeTopK"), get("writeGate"),
                   manifest_f32(get("readEps")))
        c.validate()
        return c

    def with_manifest_texts(self, o):
        """This configuration with its floats written as the manifest writes them, where that is
        one of Float.toString's forms: Gson writes a float with Float.toString, and that has not
        always printed the shortest digits (JDK 17 prints longer ones for some powers of two,
        subnormals and integers of 8 or more digits; JDK 19 and later the shortest), so the
        manifest holds the digits that the JVM which wrote it put into the fingerprint."""
        texts = {k: java_text(o[k]) for k in ("ropeBase", "readEps") if k in o}
        return replace(self, rope_base_text=texts.get("ropeBase"),
                       read_eps_text=texts.get("readEps"))

    def validate(self):
        require(self.update_rule in ("LINEAR", "DELTA", "GATED"),
                f"unknown rule {self.update_rule}")
        require(self.memory_read in ("PAPER", "NORMALIZED"), f"unknown read {self.memory_read}")
        require(self.feature_map in ("ELU_PLUS_ONE", "IDENTITY"),
                f"unknown feature map {self.feature_map}")
        require(self.write_gate in ("LOGISTIC", "SPARSE"), f"unknown write gate {self.write_gate}")
        require(self.vocab_size >= MIN_VOCAB, f"vocabSize must be >= {MIN_VOCAB}")
        require(min(self.d_model, self.layers, self.heads, self.d_key, self.d_value,
                    self.ffn_hidden) > 0, "dimensions must be positive")
        require(self.d_key % 2 == 0, "dKey must be even (RoPE rotates pairs)")
        require(self.segment_length >= 2, "segmentLength must be >= 2")
        require(self.rope_base > 1, "ropeBase must be > 1")
        require(0 <= self.overlap <= self.segment_length, "overlap must be in 0..N")
        gated_normalized = self.update_rule == "GATED" and self.memory_read == "NORMALIZED"
        require(self.update_rule != "GATED" or self.memory_read == "NORMALIZED",
                "GATED needs the NORMALIZED read")
        require(0 <= self.short_conv <= MAX_SHORT_CONV, "shortConv must be in 0..8")
        require(self.short_conv <= 1 or self.overlap >= self.short_conv - 1,
                "a short convolution of width S needs an overlap of at least S-1")
        require(self.feature_map == "ELU_PLUS_ONE" or gated_normalized,
                "the IDENTITY feature map needs GATED and the NORMALIZED read")
        require(0 <= self.write_top_k <= self.segment_length, "writeTopK must be in 0..N")
        require(self.write_top_k == 0 or self.update_rule == "GATED", "writeTopK needs GATED")
        require(self.write_gate == "LOGISTIC" or self.update_rule == "GATED",
                "a write gate other than LOGISTIC needs GATED")
        require(0 < self.read_eps <= MAX_READ_EPS, "readEps must be in (0, 1]")
        require(self.read_eps == DEFAULT_READ_EPS or self.memory_read == "NORMALIZED",
                "readEps other than the default needs the NORMALIZED read")

    def canonical(self):
        """ModelConfig.canonical(): the configuration's part of the fingerprint. The settings added
        after the first checkpoints appear only when they differ from their defaults."""
        line = (f"vocabSize={self.vocab_size},dModel={self.d_model},layers={self.layers},"
                f"heads={self.heads},dKey={self.d_key},dValue={self.d_value},"
                f"ffnHidden={self.ffn_hidden},segmentLength={self.segment_length},"
                f"updateRule={self.update_rule},memoryRead={self.memory_read},"
                f"ropeBase={self.rope_base_text or java_float(self.rope_base)},"
                f"overlap={self.overlap}")
        for key, value, default in (("shortConv", self.short_conv, 0),
                                    ("featureMap", self.feature_map, "ELU_PLUS_ONE"),
                                    ("writeTopK", self.write_top_k, 0),
                                    ("writeGate", self.write_gate, "LOGISTIC")):
            if value != default:
                line += f",{key}={value}"
        if self.read_eps != DEFAULT_READ_EPS:
            line += f",readEps={self.read_eps_text or java_float(self.read_eps)}"
        return line

    def tensor_shapes(self):
        """Weights.shapes: every tensor's name and shape, in canonical order."""
        d, h, k, v = self.d_model, self.heads, self.d_key, self.d_value
        shapes = {"embed": (self.vocab_size, d)}
        for i in range(self.layers):
            p = f"layers.{i}."
            shapes.update({p + "attn_norm": (d,), p + "attn.wq": (d, h * k),
                           p + "attn.wk": (d, h * k), p + "attn.wv": (d, h * v),
                           p + "attn.wo": (h * v, d),
                           p + "attn.gate": (h,), p + "attn.mem_norm": (h, v)})
            if self.update_rule == "GATED":
                shapes.update({p + "attn.write": (d, h), p + "attn.write_bias": (h,)})
            if self.short_conv > 0:
                shapes[p + "attn.conv"] = (self.short_conv, h * (2 * k + v))
            shapes.update({p + "ffn_norm": (d,), p + "ffn.w1": (d, self.ffn_hidden),
                           p + "ffn.w2": (self.ffn_hidden, d)})
        shapes["final_norm"] = (d,)
        return shapes


def require(ok, message):
    if not ok:
        raise ValueError(message)


def f32(x):
    """x rounded to fp32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_bits(x):
    return struct.unpack("<i", struct.pack("<f", x))[0]


def f32_step(x, direction):
    """The fp32 value next to the non-negative fp32 x, above (+1) or below (-1)."""
    return struct.unpack("<f", struct.pack("<i", f32_bits(x) + direction))[0]


def parse_f32(text):
    """Float.parseFloat of a decimal: its exact value rounded once to the nearest fp32, ties to
    the even one (through a double it could be rounded twice)."""
    exact = fractions.Fraction(text)
    try:
        x = abs(f32(float(exact)))  # the answer or a neighbour of it
    except OverflowError:
        raise ValueError(f"{text} is beyond the fp32 range") from None
    best = None
    for y in (f32_step(x, -1) if x > 0 else None, x, f32_step(x, 1)):
        if y is None or math.isinf(y):
            continue
        d = abs(fractions.Fraction(y) - abs(exact))
        if best is None or d < best[0] or (d == best[0] and f32_bits(y) % 2 == 0):
            best = (d, y)
    return math.copysign(best[1], exact)


class JsonNumber(float):
    """A JSON number with a fraction or exponent, as a float that keeps its text
    (json.load(..., parse_float=JsonNumber))."""

    def __new__(cls, text):
        x = super().__new__(cls, text)
        x.text = text
        return x


# Float.toString's two forms: plain (1e-3 <= |x| < 1e7) and computerized scientific notation
JAVA_FLOAT = re.compile(r"-?((0|[1-9][0-9]*)\.([0-9]*[1-9]|0)"
                        r"|[1-9]\.([0-9]*[1-9]|0)E-?[1-9][0-9]*)")


def manifest_f32(v):
    """A manifest's float field as its fp32 value (Gson's getAsFloat: Float.parseFloat)."""
    require(isinstance(v, (int, float)) and not isinstance(v, bool), f"{v!r} is not a number")
    return parse_f32(getattr(v, "text", str(v)))


def java_text(v):
    """The text of a JSON number if it is in a form Float.toString writes, else None."""
    text = getattr(v, "text", None)
    if text is None or not JAVA_FLOAT.fullmatch(text):
        return None
    return text if ("E" in text) != (1e-3 <= abs(parse_f32(text)) < 1e7) else None


def java_float(x):
    """Float.toString of an fp32 value, as JDK 19 and later write it: the fewest digits that read
    back as the value, plain from 1e-3 to below 1e7, else d.dddE<n>. Older JDKs print more digits
    for a few values (some powers of two, subnormals, integers of 8 or more digits); for those the
    manifest's own digits are used (Config.with_manifest_texts)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    for p in range(1, 10):
        s = f"{abs(x):.{p - 1}e}"
        if f32(float(s)) == abs(x):
            break
    mant, exp = s.split("e")
    digits, exp = mant.replace(".", "").rstrip("0") or "0", int(exp)
    sign = "-" if x < 0 else ""
    if 1e-3 <= abs(x) < 1e7:
        if exp >= 0:
            whole = digits[:exp + 1].ljust(exp + 1, "0")
            frac = digits[exp + 1:] or "0"
        else:
            whole, frac = "0", "0" * (-exp - 1) + digits
        return f"{sign}{whole}.{frac}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exp}"


def read_safetensors(path):
    """name -> (fp32 tensor, its raw little-endian bytes): int64le header length, JSON header,
    raw data."""
    if sys.byteorder != "little":
        raise RuntimeError("reading the fp32 data needs a little-endian machine")
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n:]
    tensors = {}
    for name, meta in header.items():
        if name.startswith("__"):
            continue
        if meta["dtype"] != "F32":
            raise ValueError(f"tensor {name} is {meta['dtype']}, expected F32")
        a, b = meta["data_offsets"]
        buf = bytearray(data[a:b])  # a copy: aligned, and writable for frombuffer
        tensors[name] = (torch.frombuffer(buf, dtype=torch.float32).reshape(meta["shape"]), buf)
    return tensors


def fingerprint(cfg, raw):
    """Weights.fingerprint(): SHA-256 of the canonical config line, a 0 byte, then per tensor in
    canonical order its name, a 0 byte, int64le rank and dimensions, float32le values."""
    sha = hashlib.sha256(cfg.canonical().encode("utf-8") + b"\0")
    for name, shape in cfg.tensor_shapes().items():
        sha.update(name.encode("utf-8") + b"\0")
        sha.update(struct.pack(f"<{len(shape) + 1}q", len(shape), *shape))
        sha.update(raw[name])
    return sha.hexdigest()


# ---- the model --------------------------------------------------------------------------------


@dataclass
class Layer:
    attn_norm: torch.Tensor  # (D)
    wqkv: torch.Tensor  # (D, 2HK+HV) [W_Q W_K W_V]
    wo: torch.Tensor  # (HV, D)
    gate: torch.Tensor  # (H, 1, 1) sigmoid(beta) of eq. 10
    mem_norm: torch.Tensor  # (H, 1, V) gain of the NORMALIZED read
    write: torch.Tensor  # (D, H) GATED write strength, or None
    write_bias: torch.Tensor  # (H), or None
    conv: torch.Tensor  # (S, 2HK+HV) short convolution taps, lag j in row j, or None
    ffn_norm: torch.Tensor  # (D)
    w1: torch.Tensor  # (D, F)
    w2: torch.Tensor  # (F, D)


@dataclass
class State:
    """A stream's state, as io.infinistreams.model.StreamState holds it."""
    memories: list  # (L) of (M (H, K, V), z (H, K))
    context: list  # the C tokens before the open segment
    open: list  # the open segment, 1..N tokens
    tokens_absorbed: int  # BOS included
    segments_absorbed: int


class Model:
    def __init__(self, cfg, tensors, fp):
        self.cfg, self.fingerprint = cfg, fp
        c = cfg
        self.embed = tensors["embed"]  # (W, D), also the LM head
        self.final_norm = tensors["final_norm"]  # (D)
        self.layers = []
        for i in range(c.layers):
            prefix = f"layers.{i}."
            t = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            g = torch.sigmoid(t["attn.gate"]).reshape(c.heads, 1, 1)
            self.layers.append(Layer(
                t["attn_norm"], torch.cat([t["attn.wq"], t["attn.wk"], t["attn.wv"]], 1),
                t["attn.wo"], g, t["attn.mem_norm"].reshape(c.heads, 1, c.d_value),
                t.get("attn.write"), t.get("attn.write_bias"), t.get("attn.conv"),
                t["ffn_norm"], t["ffn.w1"], t["ffn.w2"]))
        window = c.overlap + c.segment_length
        # RoPE tables for positions 0..C+N-1, in double, then fp32; rotate-half pairing
        half = c.d_key // 2
        angles = [[p * c.rope_base ** (-2.0 * (i % half) / c.d_key) for i in range(c.d_key)]
                  for p in range(window)]
        self.cos = torch.tensor([[math.cos(a) for a in row] for row in angles], dtype=torch.float32)
        self.sin = torch.tensor([[math.sin(a) for a in row] for row in angles], dtype=torch.float32)
        self.mask = torch.full((window, window), float("-inf")).triu(1)  # (C+N, C+N), 0 or -inf
        self.scale = f32(1 / math.sqrt(c.d_key))
        self.gated_write = gated_write_blocks  # or gated_write_tokens: the same rule, unblocked

    @staticmethod
    def load(directory):
        with open(os.path.join(directory, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f, parse_float=JsonNumber)
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{directory}: unknown checkpoint format {manifest.get('format')!r}")
        cfg = Config.from_manifest(manifest["config"])
        read = read_safetensors(os.path.join(directory, "model.safetensors"))
        tensors = {name: t for name, (t, _) in read.items()}
        shapes = cfg.tensor_shapes()
        if set(tensors) != set(shapes):
            odd = sorted(set(tensors) ^ set(shapes))
            raise ValueError(f"{directory}: tensors {odd} are unexpected or missing")
        for name, shape in shapes.items():
            if tuple(tensors[name].shape) != shape:
                raise ValueError(f"tensor {name} is {tuple(tensors[name].shape)}, expected {shape}")
        raw = {name: b for name, (_, b) in read.items()}
        fp = fingerprint(cfg, raw)
        if fp != manifest["fingerprint"]:  # perhaps a JDK whose Float.toString is not the shortest
            literal = cfg.with_manifest_texts(manifest["config"])
            if literal.canonical() != cfg.canonical():
                fp_literal = fingerprint(literal, raw)
                if fp_literal == manifest["fingerprint"]:
                    cfg, fp = literal, fp_literal
        if fp != manifest["fingerprint"]:
            raise ValueError(f"{directory}: weights fingerprint {fp} does not match the manifest's"
                             f" {manifest['fingerprint']}")
        return Model(cfg, tensors, fp)

    def new_state(self):
        c = self.cfg
        zero = [(torch.zeros(c.heads, c.d_key, c.d_value), torch.zeros(c.heads, c.d_key))
                for _ in range(c.layers)]
        return State(zero, [PAD] * c.overlap, [BOS], 1, 0)

    # -- forward over one window: the C context tokens, then up to N tokens of a segment --

    def forward(self, ids, memories, write, logits):
        """ids (T,) with T <= C+N, the first C the context. Returns the logits of rows C.. (or
        None) and the memories after the call (written only if write: a full segment)."""
        c = self.cfg
        x = self.embed[ids]  # (T, D)
        out = []
        for i, layer in enumerate(self.layers):
            a, mem = self.attention(layer, rms_norm(x, layer.attn_norm), memories[i], write)
            x = x + a  # (T, D)
            if logits or i < c.layers - 1:  # the last feed-forward cannot change memory
                h = rms_norm(x, layer.ffn_norm)
                x = x + F.gelu(h @ layer.w1) @ layer.w2  # (T, D), GELU with erf
            out.append(mem)
        if not logits:
            return None, out
        return rms_norm(x[c.overlap:], self.final_norm) @ self.embed.T, out  # (T-C, W)

    def attention(self, layer, h, mem, write):
        """One layer's Infini-attention; h (T, D) the normalised input -> (T, D), new memory."""
        c = self.cfg
        t, nh, dk, dv = h.shape[0], c.heads, c.d_key, c.d_value
        m, z = mem  # (H, K, V), (H, K)

        proj = h @ layer.wqkv  # (T, 2HK+HV), Q K V in one product
        if layer.conv is not None:  # causal depthwise convolution, zero rows before the window
            s = layer.conv.shape[0]
            padded = torch.cat([proj.new_zeros(s - 1, proj.shape[1]), proj])  # (S-1+T, 2HK+HV)
            conv = None
            for j in range(s):  # lag j, lag 0 first
                term = padded[s - 1 - j:s - 1 - j + t] * layer.conv[j]
                conv = term if conv is None else conv + term
            proj = conv
        q = proj[:, :nh * dk].reshape(t, nh, dk).transpose(0, 1)  # (H, T, K)
        k = proj[:, nh * dk:2 * nh * dk].reshape(t, nh, dk).transpose(0, 1)  # (H, T, K)
        v = proj[:, 2 * nh * dk:].reshape(t, nh, dv).transpose(0, 1)  # (H, T, V)

        # eq. 5-6, local branch with RoPE: softmax(Q_rope K_rope^T / sqrt(K) + mask) V
        cos, sin = self.cos[:t], self.sin[:t]
        qr, kr = rope(q, cos, sin), rope(k, cos, sin)  # (H, T, K)
        scores = (qr @ kr.transpose(1, 2)) * self.scale + self.mask[:t, :t]  # (H, T, T)
        a_dot = torch.softmax(scores, dim=-1) @ v  # (H, T, V)

        # eq. 7, memory read with the pre-RoPE queries, before this segment's write
        if c.feature_map == "IDENTITY":
            sq, sk = q, k  # sigma(x) = x: signed features, (H, T, K)
        else:
            sq, sk = F.elu(q) + 1, F.elu(k) + 1  # sigma = ELU + 1, (H, T, K)
        if c.memory_read == "PAPER":
            a_mem = paper_read(sq, m, z)  # (H, T, V)
        else:  # unit RMS over V, eps readEps inside the square root, times the head's gain
            sqm = sq @ m  # (H, T, V)
            rms = torch.sqrt(sqm.square().mean(-1, keepdim=True) + c.read_eps)  # (H, T, 1)
            a_mem = sqm / rms * layer.mem_norm  # (H, T, V)

        # eq. 8 / 9 or the gated delta rule: the segment's own N rows, never the context
        if write:
            skn, vn = sk[:, c.overlap:], v[:, c.overlap:]  # (H, N, K), (H, N, V)
            if c.update_rule == "LINEAR":
                m_new = m + skn.transpose(1, 2) @ vn  # eq. 8
            elif c.update_rule == "DELTA":
                m_new = m + skn.transpose(1, 2) @ (vn - paper_read(skn, m, z))  # eq. 9
            else:
                logit = (h[c.overlap:] @ layer.write + layer.write_bias).T  # (H, N) write logits
                beta = write_strength(logit, c.write_gate)  # (H, N)
                if 0 < c.write_top_k < logit.shape[1]:  # only the k largest logits write
                    beta = beta * top_k_mask(logit, c.write_top_k)
                m_new = self.gated_write(skn, vn, m, beta.unsqueeze(-1))  # beta (H, N, 1)
            mem = (m_new, z + skn.sum(1))  # z += sum_t sigma(K_t)

        # eq. 10, per-head gate; eq. 11, heads concatenated, W_O
        mixed = layer.gate * a_mem + (1 - layer.gate) * a_dot  # (H, T, V)
        return mixed.transpose(0, 1).reshape(t, nh * dv) @ layer.wo, mem  # (T, D)

    # -- absorb: InfiniModel.absorb --

    def absorb(self, state, tokens, score=False):
        """Appends tokens to the stream; every full segment followed by a token is compressed
        (its C context tokens, then its N tokens; read, attend, write). Returns the new state and,
        with score, each token's natural-log probability given everything before it (NaN for a
        token whose predicting position is gone)."""
        c = self.cfg
        n, ctx = c.segment_length, c.overlap
        all_ = state.open + list(tokens)
        seq = torch.tensor(state.context + all_, dtype=torch.long)  # seq[C + i] = all_[i]
        targets = torch.tensor(all_, dtype=torch.long)
        segments = (len(all_) - 1) // n if all_ else 0  # full segments with a successor
        rest = segments * n
        logp = torch.full((len(tokens),), float("nan")) if score else None
        mem = state.memories
        for s in range(segments):
            logits, mem = self.forward(seq[s * n:s * n + ctx + n], mem, True, score)
            if score:
                self._score(logits, targets, s * n, len(state.open), logp)
        if score and max(rest, len(state.open) - 1) <= len(all_) - 2:
            # the open remainder's positions predict the tokens still in it: read-only forward
            logits, _ = self.forward(seq[rest:ctx + len(all_) - 1], mem, False, True)
            self._score(logits, targets, rest, len(state.open), logp)
        context = seq[rest:rest + ctx].tolist()
        return State(mem, context, all_[rest:], state.tokens_absorbed + len(tokens),
                     state.segments_absorbed + segments), logp

    @staticmethod
    def _score(logits, targets, start, open_len, out):
        """Row r of logits (position start+r) predicts targets[start+r+1], if it is new."""
        lp = torch.log_softmax(logits, dim=-1)  # (T', W)
        for r in range(lp.shape[0]):
            target = start + r + 1
            if open_len <= target < targets.shape[0]:
                out[target - open_len] = lp[r, targets[target]]


def rms_norm(x, gain):
    """x / sqrt(mean(x^2) + eps) * gain over the last axis."""
    return x / torch.sqrt(x.square().mean(-1, keepdim=True) + NORM_EPS) * gain


def rope(x, cos, sin):
    """x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1]; x (H, T, K)."""
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], -1) * sin


def paper_read(sq, m, z):
    """Eq. 7: sigma(Q) M / (sigma(Q) z + eps); sq (H, T, K) -> (H, T, V)."""
    return (sq @ m) / (sq @ z.unsqueeze(-1) + MEMORY_EPS)


def write_strength(x, gate):
    """beta = logistic(x), or under SPARSE max(0, 2 logistic(x) - 1) = max(0, tanh(x / 2)), exactly
    0 for x <= 0; computed in double, rounded to fp32."""
    s = torch.sigmoid(x.double())
    if gate == "SPARSE":
        s = torch.where(x > 0, 2 * s - 1, torch.zeros_like(s))
    return s.float()


def top_k_mask(x, k):
    """1 at the k largest of each row of fp32 x (H, N), else 0: in the floats' total order (-0
    below +0), the earlier position first among equal values."""
    bits = x.contiguous().view(torch.int32)
    key = bits ^ ((bits >> 31) & 0x7FFFFFFF)  # integers in the order of the floats
    order = torch.sort(key, dim=1, descending=True, stable=True).indices[:, :k]  # (H, k)
    return torch.zeros_like(x).scatter_(1, order, 1.0)


def unit_keys(sk):
    """k^ = sigma(k) / sqrt(|sigma(k)|^2 + eps), row by row; (H, N, K)."""
    return sk / torch.sqrt(sk.square().sum(-1, keepdim=True) + MEMORY_EPS)


def gated_write_blocks(sk, v, m, beta):
    """The gated delta rule in DeltaNet's chunked form, blocks of 32 tokens in order: with K^ the
    block's unit keys, U solves (I + diag(beta) tril(K^ K^^T, -1)) U = diag(beta)(V - K^ M), then
    M += K^^T U. sk (H, N, K), v (H, N, V), m (H, K, V), beta (H, N, 1) -> (H, K, V)."""
    unit = unit_keys(sk)
    n = sk.shape[1]
    for a in range(0, n, BLOCK):
        k, b = unit[:, a:a + BLOCK], beta[:, a:a + BLOCK]  # (H, S, K), (H, S, 1)
        lower = torch.tril(k @ k.transpose(1, 2), diagonal=-1) * b  # (H, S, S)
        eye = torch.eye(k.shape[1]).expand_as(lower)
        rhs = (v[:, a:a + BLOCK] - k @ m) * b  # (H, S, V)
        u = torch.linalg.solve_triangular(eye + lower, rhs, upper=False, unitriangular=True)
        m = m + k.transpose(1, 2) @ u  # (H, K, V)
    return m


def gated_write_tokens(sk, v, m, beta):
    """The gated delta rule token by token: M += beta_t k^_t^T (v_t - k^_t M)."""
    unit = unit_keys(sk)
    for t in range(sk.shape[1]):
        k = unit[:, t:t + 1]  # (H, 1, K)
        m = m + beta[:, t:t + 1] * k.transpose(1, 2) @ (v[:, t:t + 1] - k @ m)
    return m



# ---- commands -----------------------------------------------------------------------------------


def one_thread():
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set


def read_tokens(path, count):
    """The file's bytes as tokens 0..255; the first count (repeating the file if it is shorter)."""
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise ValueError(f"{path} is empty")
    if count is not None and count <= 0:
        raise ValueError("--tokens must be positive")
    if count is None:
        return list(data)
    reps = -(-count // len(data))
    return list((data * reps)[:count])


def absorb_in_calls(model, state, tokens, chunk, score):
    logps = []
    for i in range(0, len(tokens), chunk):
        state, lp = model.absorb(state, tokens[i:i + chunk], score)
        if score:
            logps.append(lp)
    return state, (torch.cat(logps) if score and logps else None)


def cmd_time(args):
    one_thread()
    model = Model.load(args.checkpoint)
    tokens = read_tokens(args.text, args.tokens)
    with torch.inference_mode():
        if args.warmup_tokens > 0:
            absorb_in_calls(model, model.new_state(), tokens[:args.warmup_tokens], args.chunk,
                            args.score)
        c0, w0 = time.process_time(), time.perf_counter()
        state, _ = absorb_in_calls(model, model.new_state(), tokens, args.chunk, args.score)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(f"infini-reference-time tokens={len(tokens)} segments={state.segments_absorbed}"
          f" score={str(args.score).lower()} cpu_seconds={cpu:.6f} wall_seconds={wall:.6f}"
          f" tokens_per_cpu_second={len(tokens) / cpu:.1f}"
          f" tokens_per_wall_second={len(tokens) / wall:.1f}"
          f" threads={torch.get_num_threads()} torch={torch.__version__}"
          f" fingerprint={model.fingerprint}", flush=True)
    return 0


def cmd_absorb(args):
    one_thread()
    model = Model.load(args.checkpoint)
    tokens = read_tokens(args.text, args.tokens)
    with torch.inference_mode():
        state, lp = absorb_in_calls(model, model.new_state(), tokens, args.chunk, args.score)
    c = model.cfg
    print(f"config {c.canonical()}\nfingerprint {model.fingerprint}")
    print(f"{len(tokens)} tokens, {state.segments_absorbed} segments compressed,"
          f" {len(state.open)} open")
    for layer, (m, z) in enumerate(state.memories):
        for head in range(c.heads):
            print(f"layer {layer} head {head}: |M| {m[head].norm():.6g}  |z| {z[head].norm():.6g}")
    if lp is not None:
        known = lp[~torch.isnan(lp)]
        print(f"bits per byte {-known.mean().item() / math.log(2):.4f} over {known.numel()} tokens")
    return 0


def cmd_check(args):
    one_thread()
    with open(os.path.join(args.case, "case.json"), encoding="utf-8") as f:
        case = json.load(f)
    if case.get("format") != CASE_FORMAT:
        raise ValueError(f"{args.case}: not a reference case ({case.get('format')!r})")
    checkpoint = args.checkpoint or os.path.join(args.case, case["checkpoint"])
    model = Model.load(checkpoint)
    if args.gated_write == "tokens":
        model.gated_write = gated_write_tokens
    c = model.cfg
    problems = []
    if model.fingerprint != case["fingerprint"]:
        problems.append(f"fingerprint {model.fingerprint} is not the case's {case['fingerprint']}")
    if c.canonical() != case["config"]:
        problems.append(f"config {c.canonical()} is not the case's {case['config']}")
    tokens = case["tokens"]
    java_lp = case.get("logProbs")
    with torch.inference_mode():
        state, lp = model.absorb(model.new_state(), tokens, java_lp is not None)
    js = case["state"]
    counters = (state.tokens_absorbed, state.segments_absorbed)
    if counters != (js["tokensAbsorbed"], js["segmentsAbsorbed"]):
        problems.append(f"counters {state.tokens_absorbed}/{state.segments_absorbed} are not"
                        f" {js['tokensAbsorbed']}/{js['segmentsAbsorbed']}")
    if state.open != js["open"] or state.context != js["context"]:
        problems.append("open segment or context differ")

    print(f"config      {c.canonical()}\nfingerprint {model.fingerprint}")
    print(f"case        {len(tokens)} tokens absorbed by Java in calls of {case['chunk']}, here in"
          f" one call; {state.segments_absorbed} segments compressed; gated write:"
          f" {args.gated_write}; tolerance {args.tolerance:g} of the largest |value|\n")
    print("| layer | head | max abs diff M | largest abs M | relative | max abs diff z |"
          " largest abs z | relative |\n|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst = {"m": (0.0, 0.0), "z": (0.0, 0.0), "logp": (0.0, 0.0)}
    for jm in js["memories"]:
        layer, head = jm["layer"], jm["head"]
        m, z = state.memories[layer][0][head], state.memories[layer][1][head]
        cells = []
        for key, ours, theirs in (("m", m, jm["m"]), ("z", z, jm["z"])):
            ref = torch.tensor(theirs, dtype=torch.float32).reshape(ours.shape)
            diff, scale = (ours - ref).abs().max().item(), ref.abs().max().item()
            rel = diff / scale if scale > 0 else diff
            worst[key] = max(worst[key], (rel, diff))
            cells += [f"{diff:.3g}", f"{scale:.4g}", f"{rel:.3g}"]
            if rel > args.tolerance:
                problems.append(f"layer {layer} head {head} {key.upper()}: relative diff {rel:.3g}")
        print(f"| {layer} | {head} | " + " | ".join(cells) + " |")
    if java_lp is not None:
        ref = torch.tensor([math.nan if x is None else x for x in java_lp], dtype=torch.float32)
        both = ~(torch.isnan(ref) | torch.isnan(lp))
        if not torch.equal(torch.isnan(ref), torch.isnan(lp)):
            problems.append("log-probs are NaN at different tokens")
        diff = (lp[both] - ref[both]).abs().max().item() if both.any() else 0.0
        scale = ref[both].abs().max().item() if both.any() else 0.0
        rel = diff / scale if scale > 0 else diff
        worst["logp"] = (rel, diff)
        print(f"\nlog-probs of {int(both.sum())} tokens: max abs diff {diff:.3g} nats, largest"
              f" |log p| {scale:.4g}, relative {rel:.3g}")
        if rel > args.tolerance:
            problems.append(f"log-probs: relative diff {rel:.3g}")
    for p in problems:
        print(f"MISMATCH: {p}")
    ok = not problems
    print(f"infini-reference-check ok={str(ok).lower()} tokens={len(tokens)}"
          f" max_rel_m={worst['m'][0]:.3g} max_abs_m={worst['m'][1]:.3g}"
          f" max_rel_z={worst['z'][0]:.3g} max_abs_z={worst['z'][1]:.3g}"
          f" max_rel_logp={worst['logp'][0]:.3g} max_abs_logp={worst['logp'][1]:.3g}"
          f" tolerance={args.tolerance:g} torch={torch.__version__}")
    return 0 if ok else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    ck = sub.add_parser("check", help="compare with a case written by bin/infini bench --dump DIR")
    ck.add_argument("case", help="the directory bench --dump wrote (case.json, checkpoint/)")
    ck.add_argument("--checkpoint", help="checkpoint to load instead of the case's copy")
    ck.add_argument("--tolerance", type=float, default=1e-4,
                    help="largest allowed max |diff| / max |Java value|, per (layer, head) M and z"
                         " and over the log-probs (default 1e-4)")
    ck.add_argument("--gated-write", choices=["blocks", "tokens"], default="blocks",
                    help="the GATED write in blocks of 32 (as the Java code) or token by token")
    ck.set_defaults(run=cmd_check)

    for name, fn, text in (("time", cmd_time, "absorb throughput per CPU second, one thread"),
                           ("absorb", cmd_absorb, "absorb a text, print the memories' norms")):
        s = sub.add_parser(name, help=text)
        s.add_argument("--checkpoint", required=True, help="checkpoint directory")
        s.add_argument("--text", required=True, help="a file; its bytes are the tokens")
        s.add_argument("--tokens", type=int, default=65536 if name == "time" else None,
                       help="tokens to absorb: the file's first bytes, repeated if it is shorter"
                            + (" (default 65536)" if name == "time" else " (default: the file)"))
        s.add_argument("--chunk", type=int, default=4096, help="tokens per absorb call (4096)")
        s.add_argument("--score", action="store_true", help="also compute per-token log-probs")
        if name == "time":
            s.add_argument("--warmup-tokens", type=int, default=4096,
                           help="tokens absorbed on a fresh stream before the timed run (4096)")
        s.set_defaults(run=fn)

    args = p.parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError, KeyError) as e:
        print(f"infini_reference.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
