# STSTNet (Liong et al., FG 2019) on the MEGC2019 composite: onset-apex optical flow (u, v, strain),
# 28 x 28, 3 classes (negative, positive, surprise), LOSO over the 68 subjects.
# augmentations: flip (flow images: AugMix, colour jitter and LocalStaticFaceMix act on RGB frames)
#
#   python tools/train.py configs/megc2019/ststnet_flow-28px_1xb32-40e_megc2019-3cls.py --loso-subject SUBJECT
#   python tools/loso.py configs/megc2019/ststnet_flow-28px_1xb32-40e_megc2019-3cls.py
_base_ = [
    '../_base_/models/ststnet_flow.py', '../_base_/datasets/megc2019_flow.py',
    '../_base_/schedules/adamw_flow_tiny.py', '../_base_/flow_runtime.py'
]
