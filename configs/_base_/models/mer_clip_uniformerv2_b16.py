# MER-CLIP, the paper's model (Sec. III): the UniFormerV2-B/16 encoder of uniformerv2_b16.py, the
# emotion transformer head (2 blocks, hidden 512, 4 heads) with softmax focal loss (gamma 2), and
# AU-text alignment with a frozen CLIP ViT-B/16 text tower (temperature 0.07).
_base_ = ['./uniformerv2_b16.py']

# -------------------------------------------------------------------------------------------------
# CLIP ViT-B/16 text tower: a local file, nothing is downloaded (None = random text tower). OpenAI's
# ViT-B-16.pt (from the CLIP repository's model list) or an open_clip 'ViT-B-16' openai checkpoint.
# The authors use ViCLIP-B's text encoder (same architecture; set text_encoder.ckpt_prefix to
# 'text_encoder.' for their ViCLIP-B_InternVid-200M.pth). Written here only; another file:
#   --cfg-options model.text_encoder.pretrained=PATH
# -------------------------------------------------------------------------------------------------
clip_text_ckpt = 'checkpoints/clip_vit_b16_openai.pt'

num_classes = 5

model = dict(
    type='MERCLIP',
    cls_head=dict(
        type='EmotionTransformerHead',
        num_classes=num_classes,
        in_channels={{_base_.visual_dim}},
        hidden_dim=512,
        num_layers=2,
        num_heads=4,
        mlp_ratio=4.0,
        dropout=0.1,
        loss_cls=dict(type='SoftmaxFocalLoss', gamma=2.0),
        average_clips='prob'),
    text_encoder=dict(
        type='CLIPTextEncoder',
        arch='ViT-B-16',
        quick_gelu=True,  # OpenAI CLIP weights were trained with QuickGELU
        pretrained=clip_text_ckpt,
        frozen=True),
    align_head=dict(type='AUTextAlignHead', embed_dim=512, temperature=0.07),
    # Used when no ProgressiveLossHook changes them: the floor of the authors' schedule.
    loss_weights=dict(clip=0.5, cls=0.5))
