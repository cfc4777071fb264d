"""Shared text resources every stage may use: Korean helpers (`korean`), sentence splitting
(`sentences`) and the shipped word lists (`wordlists`, data in `lists/`)."""
