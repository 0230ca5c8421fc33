"""The TTP step (trusted third party): the only code that sees a BSN, a birth date or a name.

``bsn`` knows what a valid BSN is, ``pseudonym`` holds the keyed hash, ``pseudonymise`` loads a delivery.
"""
