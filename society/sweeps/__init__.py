"""Many runs at once: sweep files, their engines (processes or Ray), their store, their summary,
and the paired-seed mechanism table (``society mechanisms``)."""
