"""JW307 "Stop jeugdhulp" (iJw 3.2): namespaces and element names shared by parser and generator."""

from __future__ import annotations

NS_JW307 = "http://www.istandaarden.nl/ijw/3_2/jw307/schema"
NS_BASIS = "http://www.istandaarden.nl/ijw/3_2/basisschema/schema"
