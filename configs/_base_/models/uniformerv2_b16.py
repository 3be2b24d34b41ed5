# UniFormerV2-B/16 video encoder as configured by MER-CLIP (paper Sec. IV-B, authors' config): 16
# frames of 224 px, 3D conv stem with temporal downsampling, global UniBlocks in the last 8 layers,
# drop path 0.2 (local) / 0.4 (global), MLP dropout 0.5; and its data preprocessor (the authors'
# normalisation; the task configs add LocalStaticFaceMix from ../augmentations.py). Shared by
# MER-CLIP (mer_clip_uniformerv2_b16.py) and the linear baseline (uniformerv2_b16_linear.py). Only
# `model.backbone` and `model.data_preprocessor` are set here.
#
# -------------------------------------------------------------------------------------------------
# Weight files: local paths, nothing is downloaded. None = random initialisation. They are written
# here only. NOTE: mmengine resolves these variables when this file is read, so setting the variable
# in a child config changes nothing; set the model keys instead, e.g.
#   --cfg-options model.backbone.pretrained=PATH model.backbone.clip_pretrained=PATH
# -------------------------------------------------------------------------------------------------
# UniFormerV2-B/16 pretrained on Something-Something V2 (16 frames, temporal downsampling), from the
# UniFormerV2 model zoo (github.com/OpenGVLab/UniFormerV2, MODEL_ZOO "Something-Something V2",
# ViT-B/16, 16 frames); an mmaction-style checkpoint ('backbone.' keys), the official OpenGVLab
# .pyth ('backbone.' keys, flat or in 'model_state'; its final LayerNorm 'transformer.proj.0' is
# loaded as 'transformer.norm', its SSV2 classifier 'transformer.proj.2' is not used) or a MER-CLIP
# checkpoint ('vision_encoder.') all load. The MER-CLIP authors fine-tune SAMM / CASME II from their
# DFME-trained encoder: point this at such a checkpoint to do the same. Each weight file is one line
# of the run log: file, sha256, tensors loaded, every tensor left at init, every file tensor unused.
uniformerv2_ssv2_ckpt = 'checkpoints/uniformerv2_b16_sthv2_u16.pth'
# CLIP ViT-B/16 visual weights, loaded before the UniFormerV2 checkpoint (for when there is none):
# OpenAI's ViT-B-16.pt (TorchScript), an open_clip state dict ('visual.' keys) or mmaction's
# vit-base-p16-res224_clip-rgb file. The 2D patch embedding is inflated to 3D.
clip_vit_b16_ckpt = None

num_frames = 16
input_size = 224
visual_dim = 768

model = dict(
    backbone=dict(
        type='MERUniFormerV2',
        input_resolution=input_size,
        patch_size=16,
        width=visual_dim,
        layers=12,
        heads=12,
        t_size=num_frames,
        temporal_downsample=True,  # 3D conv stem: kernel 3, stride 2 in time
        dw_reduction=1.5,
        no_lmhra=False,
        double_lmhra=True,
        backbone_drop_path_rate=0.2,
        return_list=[4, 5, 6, 7, 8, 9, 10, 11],
        n_layers=8,
        n_dim=visual_dim,
        n_head=12,
        mlp_factor=4.0,
        drop_path_rate=0.4,
        mlp_dropout=[0.5] * 8,
        output='fused_and_tokens',
        local_pool=None,  # all T' x H' x W' = 8 x 14 x 14 local tokens (Eq. 4)
        pretrained=uniformerv2_ssv2_ckpt,
        clip_pretrained=clip_vit_b16_ckpt),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],  # the authors' normalisation
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
