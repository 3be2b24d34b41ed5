# A tiny UniFormerV2 (MERUniFormerV2) for CPU demos, tests and the synthetic set: the structure of
# the paper's encoder (local + global UniBlocks, temporal downsampling, Eq. 3 fusion) at width 64,
# 8 frames of 32 px, random initialisation (no weight files). Shared by the tiny MER-CLIP
# (mer_clip_tiny.py) and its linear baseline (uniformerv2_tiny_linear.py).
num_frames = 8
input_size = 32
visual_dim = 64

model = dict(
    backbone=dict(
        type='MERUniFormerV2',
        input_resolution=input_size,
        patch_size=8,  # 4 x 4 positions
        width=visual_dim,
        layers=4,
        heads=2,
        t_size=num_frames,
        temporal_downsample=True,  # T' = 4
        dw_reduction=1.5,
        no_lmhra=False,
        double_lmhra=True,
        backbone_drop_path_rate=0.0,
        return_list=[2, 3],  # global UniBlocks on the last 2 of 4 layers (paper: last 8 of 12)
        n_layers=2,
        n_dim=visual_dim,
        n_head=2,
        mlp_factor=4.0,
        drop_path_rate=0.0,
        mlp_dropout=[0.5, 0.5],
        output='fused_and_tokens',
        pretrained=None,
        clip_pretrained=None),
    # Onset differences (frame - onset frame): a from-scratch tiny encoder cannot find a 1-2 px
    # movement under the identity of raw frames (see OnsetDifferencePreprocessor). Mean 0; std in
    # grey levels, about that of the differences on the synthetic set. The task configs add
    # LocalStaticFaceMix (../augmentations.py).
    data_preprocessor=dict(
        type='OnsetDifferencePreprocessor',
        mean=[0.0, 0.0, 0.0],
        std=[8.0, 8.0, 8.0],
        format_shape='NCTHW'))
