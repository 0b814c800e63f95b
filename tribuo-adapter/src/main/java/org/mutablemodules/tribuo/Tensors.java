package org.mutablemodules.tribuo;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.mutablemodules.tribuo.protos.TensorProto;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** ND4J arrays as {@link TensorProto}s: FLOAT or DOUBLE elements, row-major, little-endian; no Java serialization. */
final class Tensors {

    private Tensors() {
    }

    /**
     * The rows of a matrix as {@code double[][]}, through one copy of its data: ND4J's {@code toDoubleMatrix} reads
     * element by element, which dominated batched prediction.
     */
    static double[][] rows(INDArray matrix) {
        int n = (int) matrix.size(0);
        int columns = n == 0 ? 0 : (int) (matrix.length() / n);
        double[] all = matrix.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[][] rows = new double[n][columns];
        for (int i = 0; i < n; i++) {
            System.arraycopy(all, i * columns, rows[i], 0, columns);
        }
        return rows;
    }

    static TensorProto toProto(INDArray array) {
        DataType type = array.dataType() == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
        INDArray c = array.castTo(type).dup('c');
        long n = c.length();
        ByteBuffer buffer = ByteBuffer.allocate(Math.toIntExact(n * type.width())).order(ByteOrder.LITTLE_ENDIAN);
        if (type == DataType.DOUBLE) {
            for (double v : c.reshape(n).toDoubleVector()) {
                buffer.putDouble(v);
            }
        } else {
            for (float v : c.reshape(n).toFloatVector()) {
                buffer.putFloat(v);
            }
        }
        buffer.flip();
        TensorProto.Builder b = TensorProto.newBuilder().setDataType(type.name()).setData(ByteString.copyFrom(buffer));
        for (long d : c.shape()) {
            b.addShape(d);
        }
        return b.build();
    }

    /**
     * The array a {@link TensorProto} holds.
     *
     * @throws IllegalStateException if the proto is inconsistent (unknown type, data length not the shape's)
     */
    static INDArray fromProto(TensorProto proto) {
        DataType type;
        try {
            type = DataType.valueOf(proto.getDataType());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("Invalid protobuf: unknown tensor data type " + proto.getDataType(), e);
        }
        long[] shape = proto.getShapeList().stream().mapToLong(Long::longValue).toArray();
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        ByteBuffer buffer = proto.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        if ((type != DataType.FLOAT && type != DataType.DOUBLE) || buffer.remaining() != n * type.width()) {
            throw new IllegalStateException("Invalid protobuf: a " + type + " tensor of shape "
                    + Arrays.toString(shape) + " with " + buffer.remaining() + " bytes");
        }
        if (type == DataType.DOUBLE) {
            double[] values = new double[(int) n];
            buffer.asDoubleBuffer().get(values);
            return Nd4j.createFromArray(values).reshape('c', shape);
        }
        float[] values = new float[(int) n];
        buffer.asFloatBuffer().get(values);
        return Nd4j.createFromArray(values).reshape('c', shape);
    }
}
