# The tiny MER-CLIP: the encoder of uniformerv2_tiny.py, the emotion transformer head (2 blocks,
# hidden 64), focal loss, and alignment with a 2-layer CLIP text transformer (CLIP tokenizer, random
# weights, frozen). Trains in minutes on a CPU.
_base_ = ['./uniformerv2_tiny.py']

num_classes = 3

model = dict(
    type='MERCLIP',
    cls_head=dict(
        type='EmotionTransformerHead',
        num_classes=num_classes,
        in_channels={{_base_.visual_dim}},
        hidden_dim=64,
        num_layers=2,
        num_heads=4,
        mlp_ratio=4.0,
        dropout=0.1,
        loss_cls=dict(type='SoftmaxFocalLoss', gamma=2.0),
        average_clips='prob'),
    text_encoder=dict(
        type='CLIPTextEncoder',
        arch=dict(embed_dim=64, context_length=77, vocab_size=49408, width=64, heads=2, layers=2),
        pretrained=None,
        frozen=True),
    align_head=dict(type='AUTextAlignHead', embed_dim=64, temperature=0.07),
    loss_weights=dict(clip=0.5, cls=0.5))
