# OFF-ApexNet (Gan et al., 2019) on the MEGC2019 composite: the u and v channels of the onset-apex
# flow images, 28 x 28, 3 classes, LOSO over the 68 subjects. Same data, augmentation and schedule
# as ststnet_flow-28px_1xb32-40e_megc2019-3cls.py.
# augmentations: flip (flow images: AugMix, colour jitter and LocalStaticFaceMix act on RGB frames)
#
#   python tools/loso.py configs/megc2019/off-apexnet_flow-28px_1xb32-40e_megc2019-3cls.py
_base_ = [
    '../_base_/models/offapexnet_flow.py', '../_base_/datasets/megc2019_flow.py',
    '../_base_/schedules/adamw_flow_tiny.py', '../_base_/flow_runtime.py'
]
