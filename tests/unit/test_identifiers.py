import pytest

from shared.identifiers import (
    IdentifierError,
    is_valid_bsn,
    mask_bsn,
    validate_bsn,
    validate_iban,
    validate_kvk,
    validate_vat,
)


def test_a_bsn_that_passes_the_11_test_is_accepted_and_compacted():
    assert validate_bsn("1112.22.333") == "111222333"


@pytest.mark.parametrize("bad", ["111222334", "12345678", "1234567890", "abcdefghi", ""])
def test_a_bsn_that_fails_the_11_test_or_length_is_refused(bad):
    assert not is_valid_bsn(bad)
    with pytest.raises(IdentifierError):
        validate_bsn(bad)


def test_iban_with_a_valid_checksum_is_accepted():
    assert validate_iban("NL91 ABNA 0417 1643 00") == "NL91ABNA0417164300"


@pytest.mark.parametrize("bad", ["NL91ABNA0417164301", "NL00XXXX0000000000", "not an iban"])
def test_iban_with_a_wrong_checksum_is_refused(bad):
    with pytest.raises(IdentifierError):
        validate_iban(bad)


def test_kvk_has_eight_digits():
    assert validate_kvk("6963 9087") == "69639087"
    with pytest.raises(IdentifierError):
        validate_kvk("1234567")


def test_dutch_vat_number_is_checked():
    assert validate_vat("NL004495445B01") == "NL004495445B01"
    with pytest.raises(IdentifierError):
        validate_vat("NL123456789B02")


def test_mask_shows_only_the_last_four():
    assert mask_bsn("111222333") == "*****2333"
