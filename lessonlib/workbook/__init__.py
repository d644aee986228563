"""The workbook around the library: the command line, sliders, key results, exercises, checks and grading."""
