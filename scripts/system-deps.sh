#!/usr/bin/env bash
# Install the Debian packages the test suite needs, if they are missing:
#   chromium            the real browser the web tests drive through Playwright
#   biber, bibtex       (biber, texlive-binaries, texlive-base) check that exported BibTeX is accepted by BibLaTeX's biber and classic BibTeX
#   pdflatex, biblatex  (texlive-latex-base, texlive-latex-recommended, texlive-bibtex-extra) and pandoc: the
#                       rendering tests print the exported library with biber+biblatex and pandoc --citeproc
#   wrk                 HTTP load generator for the benchmarks and the soak test
#   npm                 installs axe-core (tests/axe), which the layout tests inject into pages
#   virtuoso-t, isql-vt (virtuoso-opensource) the external SPARQL server of tests/test_scale_out.py, run as a
#                       plain process with its own virtuoso.ini in a temp folder (deploy/virtuoso.sh), not the service
#   haproxy             the load balancer in front of two `kg serve` nodes (deploy/haproxy.cfg)
#   rsync               copies a build to another node with --link-dest (deploy/replicate.sh)
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v biber >/dev/null 2>&1 || need+=(biber)
command -v bibtex >/dev/null 2>&1 || need+=(texlive-binaries)
# bibtex is no use without its standard styles (plain.bst), which live in texlive-base.
kpsewhich plain.bst >/dev/null 2>&1 || need+=(texlive-base)
command -v pdflatex >/dev/null 2>&1 || need+=(texlive-latex-base)
# biblatex needs etoolbox and friends, which texlive-latex-recommended ships.
kpsewhich etoolbox.sty >/dev/null 2>&1 || need+=(texlive-latex-recommended)
kpsewhich biblatex.sty >/dev/null 2>&1 || need+=(texlive-bibtex-extra)
command -v pandoc >/dev/null 2>&1 || need+=(pandoc)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# npm installs the test-only JavaScript packages (axe-core, tests/axe/package.json) in `make js-test-deps`.
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v virtuoso-t >/dev/null 2>&1 || need+=(virtuoso-opensource)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "Installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
