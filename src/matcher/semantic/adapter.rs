//! A low-rank adapter: what `scripts/fit-adapter` learned about one
//! knowledge base's customers for a sentence transformer, kept in the
//! knowledge base beside the matcher's parameters as
//! `adapter.<model>.safetensors`. For some of the network's linear layers
//! it holds two thin matrices, `<layer>.lora_A` (rank × inputs) and
//! `<layer>.lora_B` (outputs × rank), whose product is added to the
//! layer's weight as the network is built (LoRA, merged): the network then
//! runs exactly as fast as without it. `Adapted` is the weights' source the
//! network is built from, the model's own tensors with the products added.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::Init;

use crate::fnv::fnv1a64;

/// The weight changes an adapter file holds, by the name of the weight
/// each one is added to.
pub(super) struct Adapter {
    deltas: HashMap<String, Tensor>,
    /// Tells this adapter's file from another's.
    pub fingerprint: String,
}

impl Adapter {
    /// Reads `path`, with what is wrong in the error: a matrix without
    /// its pair, or a pair whose ranks differ.
    pub(super) fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
            .with_context(|| format!("{} is not a safetensors file", path.display()))?;
        let mut deltas = HashMap::new();
        for (name, a) in &tensors {
            let Some(layer) = name.strip_suffix(".lora_A") else {
                if !name.ends_with(".lora_B") {
                    bail!(
                        "{}: {name} is neither a lora_A nor a lora_B",
                        path.display()
                    );
                }
                continue;
            };
            let b = tensors
                .get(&format!("{layer}.lora_B"))
                .with_context(|| format!("{}: {name} has no lora_B", path.display()))?;
            let delta = b
                .to_dtype(DType::F32)?
                .matmul(&a.to_dtype(DType::F32)?)
                .with_context(|| format!("{}: {layer}'s lora_B and lora_A", path.display()))?;
            deltas.insert(format!("{layer}.weight"), delta);
        }
        let orphan = tensors.keys().find(|n| {
            n.strip_suffix(".lora_B")
                .is_some_and(|layer| !tensors.contains_key(&format!("{layer}.lora_A")))
        });
        if let Some(name) = orphan {
            bail!("{}: {name} has no lora_A", path.display());
        }
        Ok(Self {
            deltas,
            fingerprint: format!("{:016x}", fnv1a64(bytes.iter().copied())),
        })
    }

    /// How many weights it changes.
    pub(super) fn len(&self) -> usize {
        self.deltas.len()
    }
}

/// A model's weights with an adapter's changes added.
pub(super) struct Adapted {
    pub base: MmapedSafetensors,
    pub adapter: Adapter,
}

impl Adapted {
    /// Fails when the adapter changes a weight the model does not have,
    /// or one of another shape: an adapter for another model. Reads the
    /// shapes from the file's header; no weight is copied out of the map.
    pub(super) fn check(&self) -> anyhow::Result<()> {
        for (name, delta) in &self.adapter.deltas {
            let weight = self
                .base
                .get(name)
                .with_context(|| format!("the adapter changes {name}, which the model lacks"))?;
            if weight.shape() != delta.dims() {
                bail!(
                    "the adapter changes {name} as {:?}, but the model's is {:?}",
                    delta.dims(),
                    weight.shape()
                );
            }
        }
        Ok(())
    }

    fn added(&self, name: &str, weight: Tensor) -> candle_core::Result<Tensor> {
        match self.adapter.deltas.get(name) {
            None => Ok(weight),
            Some(delta) => weight.add(&delta.to_dtype(weight.dtype())?.to_device(weight.device())?),
        }
    }
}

impl SimpleBackend for Adapted {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        hints: Init,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let weight = SimpleBackend::get(&self.base, shape, name, hints, dtype, device)?;
        self.added(name, weight)
    }

    fn get_unchecked(
        &self,
        name: &str,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let weight = SimpleBackend::get_unchecked(&self.base, name, dtype, device)?;
        self.added(name, weight)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        SimpleBackend::contains_tensor(&self.base, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save(path: &Path, tensors: &[(&str, Tensor)]) {
        let map: HashMap<String, Tensor> = tensors
            .iter()
            .map(|(n, t)| ((*n).to_owned(), t.clone()))
            .collect();
        candle_core::safetensors::save(&map, path).expect("saves");
    }

    fn t(rows: usize, cols: usize, values: &[f32]) -> Tensor {
        Tensor::from_slice(values, (rows, cols), &Device::Cpu).expect("tensor")
    }

    fn model(dir: &Path) -> MmapedSafetensors {
        let path = dir.join("model.safetensors");
        save(
            &path,
            &[
                ("layer.dense.weight", t(2, 3, &[1., 0., 0., 0., 1., 0.])),
                ("layer.dense.bias", t(1, 2, &[5., 5.])),
            ],
        );
        // SAFETY: a file this test wrote and does not change.
        unsafe { MmapedSafetensors::new(&path) }.expect("maps")
    }

    #[test]
    fn a_changed_weight_is_the_model_s_plus_b_times_a_and_others_are_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("adapter.m.safetensors");
        // rank 1: B (2×1) · A (1×3)
        save(
            &path,
            &[
                ("layer.dense.lora_A", t(1, 3, &[1., 2., 3.])),
                ("layer.dense.lora_B", t(2, 1, &[10., -1.])),
            ],
        );
        let adapter = Adapter::load(&path).expect("loads");
        assert_eq!(adapter.len(), 1);
        let adapted = Adapted {
            base: model(dir.path()),
            adapter,
        };
        adapted.check().expect("fits the model");
        let get = |name: &str, rows, cols| -> Vec<f32> {
            SimpleBackend::get(
                &adapted,
                Shape::from((rows, cols)),
                name,
                Init::Const(0.),
                DType::F32,
                &Device::Cpu,
            )
            .expect("present")
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .expect("values")
        };
        assert_eq!(
            get("layer.dense.weight", 2, 3),
            [11., 20., 30., -1., -1., -3.]
        );
        assert_eq!(get("layer.dense.bias", 1, 2), [5., 5.]);
    }

    #[test]
    fn an_adapter_that_does_not_fit_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("adapter.m.safetensors");
        let refused = |tensors: &[(&str, Tensor)]| -> String {
            save(&path, tensors);
            let err = match Adapter::load(&path) {
                Err(e) => e,
                Ok(adapter) => Adapted {
                    base: model(dir.path()),
                    adapter,
                }
                .check()
                .expect_err("refused"),
            };
            format!("{err:#}")
        };
        let a = || t(1, 3, &[1., 2., 3.]);
        let b = || t(2, 1, &[1., 1.]);
        assert!(refused(&[("layer.dense.lora_A", a())]).contains("has no lora_B"));
        assert!(refused(&[("layer.dense.lora_B", b())]).contains("has no lora_A"));
        assert!(refused(&[
            ("layer.dense.lora_A", t(2, 3, &[0.; 6])),
            ("layer.dense.lora_B", b())
        ])
        .contains("lora_B and lora_A"));
        assert!(refused(&[("other.lora_A", a()), ("other.lora_B", b())])
            .contains("which the model lacks"));
        assert!(refused(&[
            ("layer.dense.lora_A", t(1, 2, &[1., 2.])),
            ("layer.dense.lora_B", b())
        ])
        .contains("but the model's is"));
        assert!(refused(&[("layer.dense.scale", a())]).contains("neither a lora_A nor a lora_B"));
        std::fs::write(&path, b"not safetensors").expect("writes");
        assert!(
            format!("{:#}", Adapter::load(&path).err().expect("refused"))
                .contains("is not a safetensors file")
        );
    }
}
