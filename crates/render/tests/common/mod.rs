//! Sample views shared by the integration tests, the benchmark and the example.
//!
//! The data is illustrative: plausible Vietnamese administrative wording, invented names,
//! numbers and identifiers.
#![allow(dead_code)]

use congvan_render::{
    AttachmentView, CalendarDate, DigitalSignatureView, DispatchView, Indication, ReceiptView,
    SealView, Secrecy, SignatureReportView, SignerView, Urgency, VerificationReportView,
};

/// 2026-01-05 09:30:00 in Vietnam (02:30 UTC).
pub const SIGNED_AT: i64 = 1_767_580_200;

/// The QR payload the lead will pass: `congvan:1:<dispatch-id>:<manifest-sha256-hex>`.
pub const QR_PAYLOAD: &str = "congvan:1:0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a:\
9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// A typical one-page decision (Quyết định) of a provincial People's Committee.
pub fn decision() -> DispatchView {
    DispatchView {
        parent_authority: None,
        issuing_authority: "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH".into(),
        number: "15/QĐ-UBND".into(),
        place: "Hà Tĩnh".into(),
        date: CalendarDate {
            year: 2026,
            month: 1,
            day: 5,
        },
        document_type: Some("QUYẾT ĐỊNH".into()),
        subject: "Về việc ban hành Quy chế công tác văn thư".into(),
        content: vec![
            "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH".into(),
            "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Luật sửa đổi, \
             bổ sung một số điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa \
             phương ngày 22 tháng 11 năm 2019;"
                .into(),
            "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công \
             tác văn thư;"
                .into(),
            "Theo đề nghị của Chánh Văn phòng Ủy ban nhân dân tỉnh.".into(),
            "QUYẾT ĐỊNH:".into(),
            "Điều 1. Ban hành kèm theo Quyết định này Quy chế công tác văn thư của Ủy ban nhân \
             dân tỉnh Hà Tĩnh."
                .into(),
            "Điều 2. Quyết định này có hiệu lực thi hành kể từ ngày ký ban hành.".into(),
            "Điều 3. Chánh Văn phòng Ủy ban nhân dân tỉnh, Thủ trưởng các sở, ban, ngành cấp \
             tỉnh; Chủ tịch Ủy ban nhân dân các huyện, thành phố, thị xã và các cơ quan, đơn vị \
             có liên quan chịu trách nhiệm thi hành Quyết định này./."
                .into(),
        ],
        signer: SignerView {
            authority_lines: vec!["TM. ỦY BAN NHÂN DÂN".into(), "KT. CHỦ TỊCH".into()],
            position: "PHÓ CHỦ TỊCH".into(),
            full_name: "Nguyễn Văn An".into(),
            digital_signature: Some(DigitalSignatureView {
                signer: "Nguyễn Văn An".into(),
                signed_at_unix: SIGNED_AT,
            }),
        },
        seal: Some(SealView {
            organization: "Ủy ban nhân dân tỉnh Hà Tĩnh".into(),
            signed_at_unix: SIGNED_AT + 120,
        }),
        recipients: vec![
            "Như Điều 3;".into(),
            "Chủ tịch, các PCT UBND tỉnh;".into(),
            "Lưu: VT, VP.".into(),
        ],
        urgency: Some(Urgency::Flash),
        secrecy: None,
        qr_payload: Some(QR_PAYLOAD.into()),
        verified: true,
        marks: Vec::new(),
    }
}

/// A công văn (no type name; subject under the number as "V/v …"), secret and urgent.
pub fn cong_van() -> DispatchView {
    DispatchView {
        parent_authority: Some("UBND TỈNH HÀ TĨNH".into()),
        issuing_authority: "SỞ NỘI VỤ".into(),
        number: "05/SNV-VP".into(),
        place: "Hà Tĩnh".into(),
        date: CalendarDate {
            year: 2026,
            month: 3,
            day: 3,
        },
        document_type: None,
        subject: "triển khai lưu trữ hồ sơ điện tử năm 2026".into(),
        content: vec![
            "Kính gửi: Ủy ban nhân dân các huyện, thành phố, thị xã.".into(),
            "Thực hiện chỉ đạo của Ủy ban nhân dân tỉnh về chuyển đổi số trong công tác văn thư, \
             lưu trữ, Sở Nội vụ đề nghị Ủy ban nhân dân các huyện, thành phố, thị xã rà soát, \
             thống kê hồ sơ điện tử đã lập trong năm và báo cáo về Sở trước ngày 31 tháng 3 năm \
             2026."
                .into(),
            "Đề nghị các đơn vị quan tâm, phối hợp thực hiện./.".into(),
        ],
        signer: SignerView {
            authority_lines: vec!["KT. GIÁM ĐỐC".into()],
            position: "PHÓ GIÁM ĐỐC".into(),
            full_name: "Trần Thị Bích Ngọc".into(),
            digital_signature: Some(DigitalSignatureView {
                signer: "Trần Thị Bích Ngọc".into(),
                signed_at_unix: SIGNED_AT,
            }),
        },
        seal: None,
        recipients: vec![
            "Như trên;".into(),
            "Giám đốc Sở (để b/c);".into(),
            "Lưu: VT, VP.".into(),
        ],
        urgency: Some(Urgency::VeryUrgent),
        secrecy: Some(Secrecy::Confidential),
        qr_payload: Some(QR_PAYLOAD.into()),
        verified: true,
        marks: Vec::new(),
    }
}

/// A decision whose body runs over several pages.
pub fn long_decision() -> DispatchView {
    let mut view = decision();
    let article = "Các cơ quan, đơn vị có trách nhiệm lập hồ sơ, quản lý văn bản đi, văn bản đến \
        trên Hệ thống quản lý văn bản và điều hành; bảo đảm văn bản điện tử được ký số đúng thể \
        thức, được gửi, nhận qua trục liên thông văn bản quốc gia và được lưu trữ an toàn, đầy \
        đủ, có thể truy xuất khi cần thiết.";
    for i in 4..40 {
        view.content.push(format!("Điều {i}. {article}"));
    }
    view
}

/// A verification report with a failed countersignature and a few receipts.
pub fn report() -> VerificationReportView {
    VerificationReportView {
        file_name: "15-QD-UBND.cvd".into(),
        dispatch_id: "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a".into(),
        indication: Indication::Failed,
        sub_indication: Some("REVOKED: chứng thư của chữ ký thứ 2 đã bị thu hồi".into()),
        signatures: vec![
            SignatureReportView {
                signer_name: "Nguyễn Văn An".into(),
                organization: "Ủy ban nhân dân tỉnh Hà Tĩnh".into(),
                role: "signer".into(),
                signing_time_unix: Some(SIGNED_AT),
                certificate_chain: vec![
                    "CN=Nguyễn Văn An, T=Phó Chủ tịch, O=UBND tỉnh Hà Tĩnh".into(),
                    "CN=CA tỉnh Hà Tĩnh (minh họa)".into(),
                    "CN=Root CA congvan (minh họa)".into(),
                ],
                indication: Indication::Passed,
                sub_indication: None,
            },
            SignatureReportView {
                signer_name: "Ủy ban nhân dân tỉnh Hà Tĩnh".into(),
                organization: "Ủy ban nhân dân tỉnh Hà Tĩnh".into(),
                role: "seal".into(),
                signing_time_unix: Some(SIGNED_AT + 120),
                certificate_chain: vec![
                    "CN=UBND tỉnh Hà Tĩnh, O=UBND tỉnh Hà Tĩnh".into(),
                    "CN=CA tỉnh Hà Tĩnh (minh họa)".into(),
                    "CN=Root CA congvan (minh họa)".into(),
                ],
                indication: Indication::Failed,
                sub_indication: Some("REVOKED".into()),
            },
            SignatureReportView {
                signer_name: "Lê Hoàng Phúc".into(),
                organization: "Văn phòng UBND tỉnh Hà Tĩnh".into(),
                role: "countersign".into(),
                signing_time_unix: None,
                certificate_chain: vec!["CN=Lê Hoàng Phúc".into()],
                indication: Indication::Indeterminate,
                sub_indication: Some("NO_CERTIFICATE_CHAIN_FOUND".into()),
            },
        ],
        attachments: vec![
            AttachmentView {
                name: "quy-che-van-thu.pdf".into(),
                size_bytes: 482_113,
                sha256_hex: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                    .into(),
            },
            AttachmentView {
                name: "phu-luc-mau-bieu.docx".into(),
                size_bytes: 38_907,
                sha256_hex: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
                    .into(),
            },
        ],
        receipts: vec![
            ReceiptView {
                time_unix: SIGNED_AT + 300,
                actor: "Relay UBND tỉnh Hà Tĩnh".into(),
                event: "Tiếp nhận lưu giữ (custody)".into(),
            },
            ReceiptView {
                time_unix: SIGNED_AT + 330,
                actor: "Relay UBND huyện Cẩm Xuyên".into(),
                event: "Tiếp nhận lưu giữ (custody)".into(),
            },
            ReceiptView {
                time_unix: SIGNED_AT + 900,
                actor: "UBND huyện Cẩm Xuyên".into(),
                event: "01 Đã đến".into(),
            },
            ReceiptView {
                time_unix: SIGNED_AT + 3600,
                actor: "UBND huyện Cẩm Xuyên".into(),
                event: "03 Đã tiếp nhận, vào sổ".into(),
            },
        ],
        generated_at_unix: SIGNED_AT + 86_400,
    }
}

/// A report with far more entries than fit a page, to exercise shrinking and truncation.
pub fn huge_report() -> VerificationReportView {
    let mut view = report();
    let sig = view.signatures[0].clone();
    for _ in 0..30 {
        view.signatures.push(sig.clone());
    }
    let att = view.attachments[0].clone();
    for i in 0..80 {
        let mut a = att.clone();
        a.name = format!("tep-dinh-kem-so-{i:03}.pdf");
        view.attachments.push(a);
    }
    let r = view.receipts[0].clone();
    for _ in 0..200 {
        view.receipts.push(r.clone());
    }
    view
}
