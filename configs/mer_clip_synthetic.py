# MER-CLIP, tiny, on the synthetic micro-expression set: the README's main job. The structure of the
# paper's model (UniFormerV2 local/global UniBlocks, Eq. 3 fusion, emotion transformer head, focal
# loss, AU-text alignment, progressive loss weights) at width 64 on 8 frames of 32 px, random init;
# trains in minutes on a CPU.
#
#   python tools/data/make_synthetic.py --out data/synthetic
#   python tools/train.py configs/mer_clip_synthetic.py --loso-subject s01
#   tools/dist_train.sh configs/mer_clip_synthetic.py 2 --loso-subject s01
_base_ = [
    './_base_/models/mer_clip_tiny.py', './_base_/datasets/synthetic.py',
    './_base_/schedules/adamw_cosine_20e_tiny.py', './_base_/mer_clip_runtime.py'
]
