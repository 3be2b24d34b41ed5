"""Frame file names: the numbers a template names, the template of a folder of images."""
import pytest

from mer_clip.datasets.frame_names import frame_numbers, infer_frame_template, template_regex


def _files(folder, *names):
    for name in names:
        (folder / name).write_bytes(b'')
    return str(folder)


def test_frame_numbers_are_the_files_the_template_names(tmp_path):
    root = _files(tmp_path, 'img_00007.jpg', 'img_00010.jpg', 'img_7.jpg', 'img_00008.png',
                  'notes.txt')
    assert frame_numbers(root, 'img_{:05d}.jpg') == [7, 10]
    assert frame_numbers(root, 'img_{}.jpg') == [7]  # 'img_00007.jpg' is not '{}'
    assert template_regex('006_{:05d}.jpg').match('006_00042.jpg').group(1) == '00042'
    with pytest.raises(ValueError, match='exactly one'):
        template_regex('{}_{}.jpg')


@pytest.mark.parametrize('names,tmpl,numbers', [
    (('img_00003.jpg', 'img_00012.jpg', 'clip.json'), 'img_{:05d}.jpg', [3, 12]),
    (('image9.bmp', 'image10.bmp', 'image11.bmp'), 'image{}.bmp', [9, 10, 11]),
    (('0{1}_5.png', '0{1}_6.png'), '0{{1}}_{}.png', [5, 6]),  # braces in the prefix escaped
])
def test_infer_frame_template(tmp_path, names, tmpl, numbers):
    root = _files(tmp_path, *names)
    assert infer_frame_template(root) == (tmpl, numbers)
    assert frame_numbers(root, tmpl) == numbers


@pytest.mark.parametrize('names,problem', [
    ((), 'no frame images'),
    (('a_001.jpg', 'b_002.jpg'), 'different names'),
    (('img_001.jpg', 'img_0002.jpg'), 'different widths'),
])
def test_infer_frame_template_refuses_mixed_folders(tmp_path, names, problem):
    with pytest.raises(ValueError, match=problem):
        infer_frame_template(_files(tmp_path, *names))
