# buildinfo exposes only Python-level functions; nothing to cimport.
