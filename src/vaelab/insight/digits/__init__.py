"""Reading a handwritten multi-digit number: ink from any picture, pieces, digits, MNIST crops.

The path of one image (:func:`read_number`, in :mod:`.number`), one module per step:

1. :mod:`.ink` — :func:`ink_image`: any 2-D picture (grey, RGB, RGBA canvas, light or dark
   background, uint8, uint16, float) becomes ink intensity in [0, 1] (1 = ink), downscaled when
   huge: which colour is paper judged against the picture's own range (a dim photo), a sheet on a
   darker desk read alone, uneven paper (a photo's light falling off) evened out;
   :func:`ink_on_sheet` gives the sheet too (the extent its ruled lines span); :mod:`.noise` — a
   picture of noise alone read as nothing, a noisy photo's grain smoothed away first;
   :mod:`.perspective` — :func:`squared_sheet`: a sheet on a desk photographed in perspective
   warped onto a rectangle by its four corners (read so where the photographed reading doubts
   a digit, the surer reading kept).
2. :mod:`.pieces` — :func:`segment`: what is printed on the paper removed (ruled lines and
   squared paper's grid, :mod:`.ruled_lines`, a page photographed turned levelled first; a
   form's boxes, :mod:`.boxes`), Otsu threshold, a small closing, connected components
   (skimage), a faint digit kept whole, specks dropped, pieces of one digit merged (a broken
   5), wide pieces cut where the classifier is most confident about both halves (touching and
   overlapping digits); writing that leans well beyond MNIST's slant also read upright
   (:mod:`.slant`), the surer reading kept.
3. :mod:`.crop` — :func:`mnist_crop`: each digit as MNIST itself was made: aspect kept in a
   20 × 20 box, stroke width brought to MNIST's, centre of mass at the centre of the 28 × 28
   field.
4. The classifier reads each crop (any ``classify`` callable: crops → probabilities).

Digits written on several lines (:func:`text_lines`) are read line by line when that reads better.
One picture read with several knob sets (choosing them on a development set):
:func:`read_number_ways`, which does the steps no knob changes once.
The results and the sizes several steps share are in :mod:`.common`. (Import from the modules:
package ``__init__`` files stay empty, so that each stage's DVC deps name the code it runs.) A
helper one module uses from another has a public name (``find_ruled_lines``, ``regions_of``);
a leading underscore means the module's own, reached from elsewhere only by tests and by the
measuring scripts in benchmarks/ (`reading_dev.py lean` compares a reading's lean measure with others).
"""

