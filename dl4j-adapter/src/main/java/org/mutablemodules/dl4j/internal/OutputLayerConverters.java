package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.CenterLossOutputLayer;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.objdetect.Yolo2OutputLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossL2;

/** Converters of DL4J's output and loss layers beyond the dense ones: per-pixel, per-time-step, centre loss, YOLO. */
final class OutputLayerConverters {

    private OutputLayerConverters() {
    }

    /**
     * CnnLossLayer: no parameters; the activation applied at every pixel (softmax over the channels), scored against
     * labels of the input's shape and format. The score is the loss summed over channels and pixels of each example,
     * averaged over the minibatch (MSE and MAE also divide by the number of channels): the function whose gradient
     * DL4J backpropagates. For NHWC, DL4J 1.0.0-M2.1 reports its score from the NCHW reshape of the NHWC arrays
     * ({@code CnnLossLayer.computeScore}), which equals this score only for element-wise losses (not for softmax,
     * MSE or MAE); its gradient and training use the right axes, as this graph does.
     */
    static final LayerConverter<CnnLossLayer> CNN_LOSS = (ctx, layer, input) -> {
        if (input.rank() != 4) {
            throw ctx.unsupported("input of rank " + input.rank(), List.of("CnnLossLayer on images"));
        }
        SameDiff sd = ctx.sd();
        boolean nhwc = layer.getFormat() == CNN2DFormat.NHWC;
        SDVariable out = ActivationFunctions.apply(ctx, layer.getActivationFn(), input.value(), nhwc ? 3 : 1);
        if (ctx.hasLabels()) {
            SDVariable labels = ctx.labelsPlaceholder(-1, -1, -1, -1);
            SDVariable channelsFirst = nhwc ? sd.permute(out, 0, 3, 1, 2) : out;
            SDVariable labelsChannelsFirst = nhwc ? sd.permute(labels, 0, 3, 1, 2) : labels;
            SDVariable preChannelsFirst = nhwc ? sd.permute(input.value(), 0, 3, 1, 2) : input.value();
            ctx.defineLoss(Losses.score(ctx, layer.getLossFn(), layer.getActivationFn(), preChannelsFirst,
                    channelsFirst, labelsChannelsFirst), labels);
        }
        return new LayerOutput(out, 4);
    };

    /**
     * RnnLossLayer: no parameters; the activation applied at every time step (softmax over the features), scored
     * against labels of the input's shape and format: the loss summed over features and time steps of each example,
     * averaged over the minibatch (MSE and MAE also divide by the number of features), the function whose gradient
     * DL4J backpropagates. For NWC, DL4J 1.0.0-M2.1's own score is broken ({@code RnnLossLayer.computeScore}
     * replaces the labels by the permuted input, and fails unless the sequence length equals the width); its
     * gradient is the one of this score.
     */
    static final LayerConverter<RnnLossLayer> RNN_LOSS = (ctx, layer, input) -> {
        if (input.rank() != 3) {
            throw ctx.unsupported("input of rank " + input.rank(), List.of("RnnLossLayer on time series"));
        }
        SameDiff sd = ctx.sd();
        boolean nwc = layer.getRnnDataFormat() == RNNFormat.NWC;
        SDVariable out = ActivationFunctions.apply(ctx, layer.getActivationFn(), input.value(), nwc ? 2 : 1);
        // DL4J scores the steps its labels mask keeps, else those of the features mask that reaches it
        SDVariable mask = ctx.labelMask() != null ? ctx.labelMask() : input.mask();
        if (mask != null && ctx.hasLabels()) {
            SDVariable labels = ctx.labelsPlaceholder(-1, -1, -1);
            SDVariable width = ctx.dimension(labels, nwc ? 2 : 1);
            SDVariable rowsShape = sd.concat(0, ctx.longVector(-1), width);
            SDVariable preRows = sd.reshape(nwc ? input.value() : sd.permute(input.value(), 0, 2, 1), rowsShape);
            SDVariable outRows = sd.reshape(nwc ? out : sd.permute(out, 0, 2, 1), rowsShape);
            SDVariable labelRows = sd.reshape(nwc ? labels : sd.permute(labels, 0, 2, 1), rowsShape);
            SDVariable weights = (mask == ctx.labelMask() ? SequenceMasks.labelWeights(ctx, mask, layer.getLossFn(),
                    layer.getActivationFn(), -1) : mask.reshape(-1, 1)).div(sd.sum(ctx.dimension(labels, 0)
                    .castTo(ctx.dataType())));
            ctx.defineLoss(Losses.weightedScore(layer.getLossFn(), layer.getActivationFn(), preRows, outRows,
                    labelRows, weights, sd.sum(width.castTo(ctx.dataType())),
                    what -> ctx.unsupported(what, Losses.SUPPORTED)), labels);
            return new LayerOutput(out, 3);
        }
        if (ctx.hasLabels()) {
            SDVariable labels = ctx.labelsPlaceholder(-1, -1, -1);
            SDVariable featuresFirst = nwc ? sd.permute(out, 0, 2, 1) : out;
            SDVariable labelsFeaturesFirst = nwc ? sd.permute(labels, 0, 2, 1) : labels;
            SDVariable preFeaturesFirst = nwc ? sd.permute(input.value(), 0, 2, 1) : input.value();
            ctx.defineLoss(Losses.score(ctx, layer.getLossFn(), layer.getActivationFn(), preFeaturesFirst,
                    featuresFirst, labelsFeaturesFirst), labels);
        }
        return new LayerOutput(out, 3);
    };

    /**
     * CenterLossOutputLayer: output {@code act(x W + b)} (W [nIn, nOut], b [1, nOut]); score the loss plus
     * {@code lambda / 2 * ||x - y cL||^2} per example, averaged over the minibatch, where {@code y} are the one-hot
     * labels and cL [nOut, nIn] holds one centre per class. DL4J moves the centres by its own rule (alpha), not by
     * the score's gradient, so cL becomes a parameter whose initial value is frozen. DL4J's gradients of W and b are
     * those of the score (the centre term does not depend on them); the centre term's gradient flows into x.
     */
    static final LayerConverter<CenterLossOutputLayer> CENTER_LOSS_OUTPUT = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        SameDiff sd = ctx.sd();
        SDVariable x = input.value();
        SDVariable logits = FeedForwardConverters.affine(ctx, x, layer.hasBias());
        SDVariable out = ActivationFunctions.apply(ctx, layer.getActivationFn(), logits, 1);
        // Recorded even without labels, so that the parameter exists (and is baked back) whatever the outputs.
        SDVariable centres = ctx.statistic("cL");
        if (ctx.hasLabels()) {
            SDVariable labels = ctx.labelsPlaceholder(-1, layer.getNOut());
            SDVariable distance = x.sub(labels.mmul(centres));
            // The sum over the examples divided by their number: mean * nIn (see Losses.score).
            SDVariable intraClass = sd.mean(distance.mul(distance)).mul(layer.getLambda() / 2 * layer.getNIn());
            ctx.defineLoss(Losses.score(ctx, layer.getLossFn(), layer.getActivationFn(), logits, out, labels)
                    .add(intraClass), labels);
        }
        return new LayerOutput(out, 2);
    };

    /**
     * Yolo2OutputLayer, on [N, B*(5+C), H, W] (or NHWC) activations seen as [N, B, 5+C, H, W]. Output, per box:
     * {@code sigmoid} of the centre x, y in its cell, {@code prior * exp} of the width and height (priors [B, 2] from
     * {@code boundingBoxes}), {@code sigmoid} of the confidence and softmax over the C class scores. No parameters.
     *
     * <p>Score, against labels [N, 4+C, H, W] (corners x1, y1, x2, y2 in grid units, then one-hot classes at the cell
     * of the object's centre), as DL4J computes it: in each cell with an object, the box whose prediction has the
     * highest IOU with the label (the first on ties) is responsible for it ({@code 1obj}, otherwise {@code 1noobj});
     * {@code lambdaCoord * (position + size) + confidence + class}, where position is the squared error of the
     * centre in its cell, size that of the square roots of width and height, confidence
     * {@code (1obj + lambdaNoObj * 1noobj) * (1obj * IOU - c)^2} and class the squared error of the softmax, all
     * summed over boxes and cells and averaged over the minibatch. Only LossL2 (the default) is converted for
     * {@code lossPositionScale} and {@code lossClassPredictions}. The IOU is a differentiable function of the
     * predictions (as in DL4J's gradient), composed from element-wise ops; the responsible box comes from argmax and
     * one-hot, whose gradients are zero, as DL4J's masks are constants.
     */
    static final LayerConverter<Yolo2OutputLayer> YOLO2_OUTPUT = (ctx, layer, input) -> {
        if (input.rank() != 4) {
            throw ctx.unsupported("input of rank " + input.rank(), List.of("Yolo2OutputLayer on images"));
        }
        SameDiff sd = ctx.sd();
        boolean nhwc = layer.getFormat() == CNN2DFormat.NHWC;
        SDVariable x = nhwc ? sd.permute(input.value(), 0, 3, 1, 2) : input.value();
        INDArray priors = layer.getBoundingBoxes();
        int boxes = (int) priors.size(0);
        SDVariable perBox = sd.reshape(x, sd.concat(0, ctx.dimension(x, 0), ctx.longVector(boxes), ctx.longVector(-1),
                ctx.dimension(x, 2), ctx.dimension(x, 3)));                                 // [N, B, 5+C, H, W]
        SDVariable xy = sd.nn().sigmoid(channels(sd, perBox, 0, 2));
        SDVariable wh = sd.math().exp(channels(sd, perBox, 2, 2))
                .mul(sd.constant(priors.castTo(ctx.dataType()).reshape(1, boxes, 2, 1, 1)));
        SDVariable confidence = sd.nn().sigmoid(channels(sd, perBox, 4, 1));
        SDVariable classes = sd.nn().softmax(channels(sd, perBox, 5, -1), 2);
        if (ctx.hasLabels()) {
            requireL2(ctx, "lossPositionScale", layer.getLossPositionScale());
            requireL2(ctx, "lossClassPredictions", layer.getLossClassPredictions());
            SDVariable labels = ctx.labelsPlaceholder(-1, -1, -1, -1);
            SDVariable labelsChannelsFirst = nhwc ? sd.permute(labels, 0, 3, 1, 2) : labels;
            ctx.defineLoss(yoloScore(ctx, layer, x, xy, wh, confidence, classes, labelsChannelsFirst), labels);
        }
        SDVariable out = sd.reshape(sd.concat(2, xy, wh, confidence, classes), sd.shape(x));
        return new LayerOutput(nhwc ? sd.permute(out, 0, 2, 3, 1) : out, 4);
    };

    /** The channels [from, from + count) along axis 2 of a [N, B, K, H, W] tensor (count -1: to the end). */
    private static SDVariable channels(SameDiff sd, SDVariable perBox, int from, int count) {
        return sd.slice(perBox, new int[] {0, 0, from, 0, 0}, -1, -1, count, -1, -1);
    }

    private static void requireL2(ConversionContext ctx, String what, ILossFunction fn) {
        if (fn == null || fn.getClass() != LossL2.class || ((LossL2) fn).getWeights() != null) {
            throw ctx.unsupported(what + " " + fn, List.of("Yolo2OutputLayer losses LossL2 (the default) without weights"));
        }
    }

    /**
     * DL4J's YOLO score (see {@link #YOLO2_OUTPUT}).
     *
     * @param x          the input, NCHW
     * @param xy         the predicted centres in their cells, [N, B, 2, H, W]
     * @param wh         the predicted widths and heights, [N, B, 2, H, W]
     * @param confidence the predicted confidences, [N, B, 1, H, W]
     * @param classes    the predicted class probabilities, [N, B, C, H, W]
     * @param labels     the labels, NCHW [N, 4+C, H, W]
     */
    private static SDVariable yoloScore(ConversionContext ctx, Yolo2OutputLayer layer, SDVariable x, SDVariable xy,
                                        SDVariable wh, SDVariable confidence, SDVariable classes, SDVariable labels) {
        SameDiff sd = ctx.sd();
        DataType type = ctx.dataType();
        int boxes = (int) layer.getBoundingBoxes().size(0);
        // Every quantity is [N, B, 1, H, W] (per box) or [N, 1, 1, H, W] (per cell), so that all broadcast.
        SDVariable cellX = channels(sd, xy, 0, 1);
        SDVariable cellY = channels(sd, xy, 1, 1);
        SDVariable width = channels(sd, wh, 0, 1);
        SDVariable height = channels(sd, wh, 1, 1);
        SDVariable perCell = sd.reshape(labels, sd.concat(0, ctx.dimension(labels, 0), ctx.longVector(1),
                ctx.longVector(-1), ctx.dimension(labels, 2), ctx.dimension(labels, 3)));  // [N, 1, 4+C, H, W]
        SDVariable x1 = channels(sd, perCell, 0, 1);
        SDVariable y1 = channels(sd, perCell, 1, 1);
        SDVariable x2 = channels(sd, perCell, 2, 1);
        SDVariable y2 = channels(sd, perCell, 3, 1);
        SDVariable classLabels = channels(sd, perCell, 4, -1);
        SDVariable present = sd.sum(classLabels, true, 2);
        SDVariable presentMask = sd.neq(present, 0.0).castTo(type);

        // The label's centre within its cell, and the square roots of its size.
        SDVariable centreX = x1.add(x2).mul(0.5);
        SDVariable centreY = y1.add(y2).mul(0.5);
        SDVariable labelCellX = centreX.sub(sd.math().floor(centreX));
        SDVariable labelCellY = centreY.sub(sd.math().floor(centreY));

        // IOU of each box's prediction with the label, in grid units.
        SDVariable predictedX = cellX.add(grid(ctx, x, 3).reshape(1, 1, 1, 1, -1));
        SDVariable predictedY = cellY.add(grid(ctx, x, 2).reshape(1, 1, 1, -1, 1));
        SDVariable left = predictedX.sub(width.mul(0.5));
        SDVariable right = predictedX.add(width.mul(0.5));
        SDVariable top = predictedY.sub(height.mul(0.5));
        SDVariable bottom = predictedY.add(height.mul(0.5));
        SDVariable overlapX = min(right, x2).sub(max(left, x1));
        SDVariable overlapY = min(bottom, y2).sub(max(top, y1));
        SDVariable intersects = sd.gt(right, x1).castTo(type).mul(sd.lt(left, x2).castTo(type))
                .mul(sd.gt(bottom, y1).castTo(type)).mul(sd.lt(top, y2).castTo(type)).mul(presentMask);
        SDVariable intersection = overlapX.mul(overlapY).mul(present).mul(intersects);
        SDVariable union = width.mul(height).mul(present).add(x2.sub(x1).mul(y2.sub(y1))).sub(intersection)
                .mul(intersects);
        // DL4J replaces 0/0 (no intersection) by 0; adding 1 to those denominators gives 0 without a NaN.
        SDVariable iou = intersection.div(union.add(intersects.rsub(1.0))).mul(present);

        // DL4J's IsMax along the boxes marks the first maximum, as argmax does.
        SDVariable responsible = sd.oneHot(sd.argmax(iou, 1), boxes, 1, 1.0, 0.0, type).mul(presentMask);
        SDVariable notResponsible = responsible.rsub(1.0);

        SDVariable position = sd.math().square(labelCellX.sub(cellX)).add(sd.math().square(labelCellY.sub(cellY)));
        SDVariable size = sd.math().square(sd.math().sqrt(x2.sub(x1)).sub(sd.math().sqrt(width)))
                .add(sd.math().square(sd.math().sqrt(y2.sub(y1)).sub(sd.math().sqrt(height))));
        SDVariable confidenceError = sd.math().square(iou.mul(responsible).sub(confidence));
        SDVariable confidenceWeight = responsible.add(notResponsible.mul(layer.getLambdaNoObj()));
        SDVariable classError = sd.sum(sd.math().square(classLabels.sub(classes)), true, 2);
        SDVariable perBoxLoss = position.add(size).mul(layer.getLambdaCoord()).mul(responsible)
                .add(confidenceError.mul(confidenceWeight))
                .add(classError.mul(responsible));
        return Losses.averageOverExamples(ctx, sd.sum(perBoxLoss), x);
    }

    /** 0, 1, ..., size - 1 along {@code axis} of {@code x}, as a vector of the graph's type. */
    private static SDVariable grid(ConversionContext ctx, SDVariable x, int axis) {
        SameDiff sd = ctx.sd();
        DataType type = ctx.dataType();
        SDVariable size = sd.sum(ctx.dimension(x, axis)).castTo(type);
        return sd.range(sd.constant(Nd4j.scalar(type, 0.0)), size, sd.constant(Nd4j.scalar(type, 1.0)), type);
    }

    /** max(a, b), composed as (a + b + |a - b|) / 2 so that its broadcasting gradient needs no pairwise-max op. */
    private static SDVariable max(SDVariable a, SDVariable b) {
        return a.add(b).add(a.getSameDiff().math().abs(a.sub(b))).mul(0.5);
    }

    /** min(a, b) = (a + b - |a - b|) / 2. */
    private static SDVariable min(SDVariable a, SDVariable b) {
        return a.add(b).sub(a.getSameDiff().math().abs(a.sub(b))).mul(0.5);
    }
}
