"""Published sizes of the hub models the benchmarks build with random weights (the parts of
each config.json that set the cost), so every script times the same architecture."""

CLIP_B32 = {
    "text": dict(
        hidden_size=512,
        intermediate_size=2048,
        num_hidden_layers=12,
        num_attention_heads=8,
        max_position_embeddings=77,
        vocab_size=49408,
    ),
    "vision": dict(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        image_size=224,
        patch_size=32,
    ),
    "projection_dim": 512,
}
SIGLIP_SO400M = {
    "text": dict(
        hidden_size=1152,
        intermediate_size=4304,
        num_hidden_layers=27,
        num_attention_heads=16,
        max_position_embeddings=64,
        vocab_size=32000,
    ),
    "vision": dict(
        hidden_size=1152,
        intermediate_size=4304,
        num_hidden_layers=27,
        num_attention_heads=16,
        image_size=384,
        patch_size=14,
    ),
}
QWEN2_05B = dict(  # llava-hf/llava-onevision-qwen2-0.5b-ov-hf's language model
    vocab_size=151936,
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    max_position_embeddings=32768,
    rope_theta=1000000.0,
    tie_word_embeddings=True,
)
QWEN2_7B = dict(  # llava-hf/llava-onevision-qwen2-7b-ov-hf's language model
    vocab_size=152064,
    hidden_size=3584,
    intermediate_size=18944,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    max_position_embeddings=32768,
    rope_theta=1000000.0,
)
SIGLIP_TOWER_LLAVA = dict(  # LLaVA-OneVision's vision tower (both sizes)
    hidden_size=1152,
    intermediate_size=4304,
    num_hidden_layers=26,
    num_attention_heads=16,
    image_size=384,
    patch_size=14,
)
