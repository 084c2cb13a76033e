//! Just enough of ONNX's protobuf to write a model: a graph of nodes with attributes, named
//! initializers (raw little-endian data), typed inputs and outputs, opset imports. Field numbers
//! are onnx.proto3's.

/// Protobuf's wire encoding, appended to a buffer.
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }
    fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64);
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }
    fn message(&mut self, field: u32, m: Message) {
        self.bytes(field, &m.0);
    }
    fn float(&mut self, field: u32, f: f32) {
        self.key(field, 5);
        self.0.extend_from_slice(&f.to_le_bytes());
    }
}

/// TensorProto.DataType values used here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    Float = 1,
    Int8 = 3,
}

pub enum Attribute {
    Int(i64),
    Float(f32),
    Ints(Vec<i64>),
}

pub struct Node {
    pub op: &'static str,
    pub domain: &'static str,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<(&'static str, Attribute)>,
}

pub struct Initializer {
    pub name: String,
    pub data_type: DataType,
    pub dims: Vec<i64>,
    pub raw: Vec<u8>,
}

impl Initializer {
    pub fn floats(name: impl Into<String>, dims: Vec<i64>, values: &[f32]) -> Initializer {
        Initializer { name: name.into(), data_type: DataType::Float, dims, raw: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
    }
    pub fn int8s(name: impl Into<String>, dims: Vec<i64>, values: &[i8]) -> Initializer {
        Initializer { name: name.into(), data_type: DataType::Int8, dims, raw: values.iter().map(|v| *v as u8).collect() }
    }
}

/// A graph input or output: a name, an element type and dimensions (a name for a free one).
pub struct Value {
    pub name: String,
    pub data_type: DataType,
    pub dims: Vec<Dim>,
}

pub enum Dim {
    Fixed(i64),
    Named(&'static str),
}

#[derive(Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub initializers: Vec<Initializer>,
    pub inputs: Vec<Value>,
    pub outputs: Vec<Value>,
}

fn value_info(v: &Value) -> Message {
    let mut shape = Message::default();
    for d in &v.dims {
        let mut dim = Message::default();
        match d {
            Dim::Fixed(n) => dim.int(1, *n),
            Dim::Named(s) => dim.string(2, s),
        }
        shape.message(1, dim);
    }
    let mut tensor = Message::default();
    tensor.int(1, v.data_type as i64);
    tensor.message(2, shape);
    let mut ty = Message::default();
    ty.message(1, tensor);
    let mut info = Message::default();
    info.string(1, &v.name);
    info.message(2, ty);
    info
}

impl Graph {
    /// The serialized ModelProto: IR version 8, the default domain at `opset` and Microsoft's
    /// contrib domain (its quantized and fused CPU kernels) at version 1.
    pub fn to_model(&self, name: &str, opset: i64) -> Vec<u8> {
        let mut graph = Message::default();
        for node in &self.nodes {
            let mut n = Message::default();
            for i in &node.inputs {
                n.string(1, i);
            }
            for o in &node.outputs {
                n.string(2, o);
            }
            n.string(4, node.op);
            for (name, attribute) in &node.attributes {
                let mut a = Message::default();
                a.string(1, name);
                match attribute {
                    Attribute::Float(f) => {
                        a.float(2, *f);
                        a.int(20, 1);
                    }
                    Attribute::Int(i) => {
                        a.int(3, *i);
                        a.int(20, 2);
                    }
                    Attribute::Ints(is) => {
                        for i in is {
                            a.int(8, *i);
                        }
                        a.int(20, 7);
                    }
                }
                n.message(5, a);
            }
            if !node.domain.is_empty() {
                n.string(7, node.domain);
            }
            graph.message(1, n);
        }
        graph.string(2, name);
        for init in &self.initializers {
            let mut t = Message::default();
            for d in &init.dims {
                t.int(1, *d);
            }
            t.int(2, init.data_type as i64);
            t.string(8, &init.name);
            t.bytes(9, &init.raw);
            graph.message(5, t);
        }
        for v in &self.inputs {
            graph.message(11, value_info(v));
        }
        for v in &self.outputs {
            graph.message(12, value_info(v));
        }
        let mut model = Message::default();
        model.int(1, 8);
        model.string(2, "siftgram");
        model.message(7, graph);
        for (domain, version) in [("", opset), ("com.microsoft", 1)] {
            let mut o = Message::default();
            if !domain.is_empty() {
                o.string(1, domain);
            }
            o.int(2, version);
            model.message(8, o);
        }
        model.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_keys_follow_the_wire_format() {
        let mut m = Message::default();
        m.int(1, 300);
        assert_eq!(m.0, [0x08, 0xac, 0x02]);
        let mut m = Message::default();
        m.string(2, "ab");
        assert_eq!(m.0, [0x12, 2, b'a', b'b']);
        let mut m = Message::default();
        m.int(3, -1);
        assert_eq!(m.0.len(), 11, "negative int64s take ten bytes");
    }
}
