"""Write the term lists of the vocabularies rdflib declares (DCTERMS, SKOS, PROV, FOAF, ORG, RDF, RDFS,
OWL, XSD, SHACL) from rdflib's DefinedNamespace files, each with a header naming its source.

Run with the project's rdflib: ``.venv/bin/python tests/data/vocab/make_rdflib_lists.py``.
"""

from pathlib import Path

import rdflib
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SH, SKOS, XSD

#: file name -> (namespace class, upstream document rdflib built its list from)
LISTS = {
    "dcterms": (DCTERMS, "DCMI Metadata Terms, https://www.dublincore.org/specifications/dublin-core/dcmi-terms/"),
    "skos": (SKOS, "SKOS Reference, W3C Recommendation 2009-08-18, https://www.w3.org/TR/skos-reference/"),
    "prov": (PROV, "PROV-O, W3C Recommendation 2013-04-30, https://www.w3.org/TR/prov-o/"),
    "foaf": (FOAF, "FOAF Vocabulary Specification 0.99, http://xmlns.com/foaf/spec/"),
    "org": (ORG, "The Organization Ontology, W3C Recommendation 2014-01-16, https://www.w3.org/TR/vocab-org/"),
    "rdf": (RDF, "RDF 1.1 Concepts, http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    "rdfs": (RDFS, "RDF Schema 1.1, http://www.w3.org/2000/01/rdf-schema#"),
    "owl": (OWL, "OWL 2, http://www.w3.org/2002/07/owl#"),
    "xsd": (XSD, "XML Schema Datatypes, http://www.w3.org/2001/XMLSchema#"),
    "sh": (SH, "SHACL, W3C Recommendation 2017-07-20, https://www.w3.org/TR/shacl/"),
}

here = Path(__file__).parent
for name, (ns, source) in LISTS.items():
    terms = sorted({t for t in ns.__annotations__} | set(getattr(ns, "_extras", [])))
    header = (f"# {source}\n# namespace: {ns._NS}\n"
              f"# terms as rdflib {rdflib.__version__} declares them (rdflib/namespace/_{ns.__name__}.py)\n")
    (here / f"{name}.txt").write_text(header + "".join(t + "\n" for t in terms), encoding="utf-8")
