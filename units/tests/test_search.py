import unicodedata

import pytest

from cchc_portal.text import fold, nfc
from units.models import Unit

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["nghi loc", "Nghi Lộc", "NGHI LOC", "  nghi   lộc "])
def test_search_without_diacritics_finds_nghi_loc(tree, query):
    assert list(Unit.objects.search(query).values_list("code", flat=True)) == ["429"]


def test_search_folds_d_with_stroke(tree):
    from units.tests.factories import UnitFactory

    UnitFactory(code="427", name="Huyện Đô Lương", kind="district", parent=tree)
    assert Unit.objects.search("do luong").get().code == "427"


def test_search_by_code(tree):
    assert Unit.objects.search("17700").get().name == "Xã Nghi Phong"


def test_decomposed_input_is_stored_and_found_as_nfc(tree):
    decomposed = unicodedata.normalize("NFD", "Xã Nghi Lộc")
    assert decomposed != nfc(decomposed)
    assert fold(decomposed) == "xa nghi loc"
