# The name of this config in earlier releases, kept so that commands such as
#   tools/dist_train.sh configs/mer_clip_samm.py 2
# keep working: exactly configs/mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py (MER-CLIP,
# UniFormerV2-B/16, the paper's schedule and augmentations, SAMM 5 classes, LOSO).
# augmentations: augmix, color_jitter, flip, lsfm
_base_ = ['./mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py']
