"""Chinese text renders with real glyphs on a machine without CJK system fonts."""
from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager

from fzanalysis.fonts import CJK_FAMILY, use_cjk_font

TITLE = "妇女基本医疗保险参保率（%）"


def _render(tmp_path, fontfamily=None):
    fig, ax = plt.subplots(figsize=(4, 1))
    ax.axis("off")
    kw = {"fontfamily": fontfamily} if fontfamily else {}
    ax.set_title(TITLE, fontsize=18, **kw)
    out = tmp_path / "title.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(out, dpi=80)
    plt.close(fig)
    img = plt.imread(out)
    return caught, img


def test_font_registered_and_first():
    family = use_cjk_font()
    assert family == CJK_FAMILY
    assert matplotlib.rcParams["font.sans-serif"][0] == CJK_FAMILY
    found = font_manager.findfont(font_manager.FontProperties(family=family),
                                  fallback_to_default=False)
    assert found.endswith("NotoSansCJKsc-Regular.otf")


def test_chinese_title_has_no_missing_glyphs(tmp_path):
    use_cjk_font()
    caught, img = _render(tmp_path)
    missing = [w for w in caught if "missing from font" in str(w.message)]
    assert not missing, [str(w.message) for w in missing]
    # the title really put ink on the canvas
    assert (img[..., :3] < 0.5).any()


def test_missing_font_would_be_detected(tmp_path):
    """The check above can fail: DejaVu Sans lacks CJK glyphs and warns."""
    caught, _ = _render(tmp_path, fontfamily="DejaVu Sans")
    assert any("missing from font" in str(w.message) for w in caught)


def test_cjk_and_dejavu_draw_different_pixels(tmp_path):
    use_cjk_font()
    _, cjk = _render(tmp_path)
    _, tofu = _render(tmp_path, fontfamily="DejaVu Sans")
    assert not np.array_equal(cjk, tofu)
