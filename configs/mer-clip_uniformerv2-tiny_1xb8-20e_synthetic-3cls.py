# MER-CLIP, tiny, on the synthetic micro-expression set: the README's main job. The structure of the
# paper's model (UniFormerV2 local/global UniBlocks, Eq. 3 fusion, emotion transformer head, focal
# loss, AU-text alignment, progressive loss weights) at width 64 on 8 frames of 32 px, random init;
# trains in minutes on a CPU. The paper's augmentations (_base_/augmentations.py; Table IX row
# "+AugMix +LSFM"; the other rows are in ablations/).
# augmentations: augmix, color_jitter, flip, lsfm
#
#   python tools/data/make_synthetic.py --out data/synthetic
#   python tools/train.py configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py \
#       --loso-subject s01
#   tools/dist_train.sh configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py 2 \
#       --loso-subject s01
_base_ = [
    './_base_/models/mer_clip_tiny.py', './_base_/datasets/synthetic.py',
    './_base_/schedules/adamw_cosine_20e_tiny.py', './_base_/mer_clip_runtime.py'
]

model = dict(data_preprocessor=dict(blending=_base_.aug_lsfm))
