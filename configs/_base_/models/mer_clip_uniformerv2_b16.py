# MER-CLIP, the paper's model (Sec. III): the UniFormerV2-B/16 encoder of uniformerv2_b16.py, the
# emotion transformer head (2 blocks, hidden 512, 4 heads) with softmax focal loss (gamma 2), and
# AU-text alignment with a frozen CLIP ViT-B/16 text tower (temperature 0.07).
_base_ = ['./uniformerv2_b16.py']

# -------------------------------------------------------------------------------------------------
# CLIP ViT-B/16 text tower: a local file, nothing is downloaded (None = random text tower). Each
# load is one line of the run log: file, sha256, tensors loaded / left at init / unused, activation.
# - OpenAI's ViT-B-16.pt (TorchScript, from the CLIP repository's model list; the default below), or
#   open_clip's conversion of it: QuickGELU.
# - The MER-CLIP authors' text tower is ViCLIP-B's (InternVideo's ViCLIP-B_InternVid-FLT-10M.pth:
#   'model', keys under 'text_encoder.', found by itself). It has 32 positions, not 77. By default
#   (pad_positions=True) it loads as the authors load it: the positional embedding zero-padded to
#   77 (positions 33-77 are 0; prompts are not cut), every other tensor strict. Its native tower,
#       --cfg-options model.text_encoder.context_length=32
#   cuts prompts of more than 32 tokens (many prompts of 3 or more AUs; each cut is warned, with a
#   count over the prompts encoded so far). ViCLIP's text blocks are OpenAI's: QuickGELU.
# - open_clip LAION files (.bin / .safetensors, a path naming 'laion'): GELU. Set
#   model.text_encoder.quick_gelu=False (or None: follow the file); True is refused for them.
# The activation follows the file where it tells (OpenAI archive, ViCLIP, a path naming 'laion' or
# 'openai'); a quick_gelu the file contradicts is an error naming both; for any other file the value
# below is used, and the load line says the file does not tell. Another file:
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
        quick_gelu=True,  # OpenAI's and ViCLIP's weights (see above); None: follow the file
        pretrained=clip_text_ckpt,
        frozen=True),
    align_head=dict(type='AUTextAlignHead', embed_dim=512, temperature=0.07),
    # Used when no ProgressiveLossHook changes them: the floor of the authors' schedule.
    loss_weights=dict(clip=0.5, cls=0.5))
