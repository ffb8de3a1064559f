"""Digit insight: reading multi-digit numbers (segmentation + the evaluator), explaining the
evaluator's decisions (Grad-CAM and its faithfulness), and VAE variations of a digit.

The modules here take arrays and models, never file names or command-line arguments: the stages
(``explain``, ``read_numbers``, ``digit_variations``), the ``vaelab read`` command and the studio
page all call the same functions.
"""
